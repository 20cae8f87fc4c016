"""The BSL module shipped in ``docs/1c/`` cannot drift from the API: every path it calls
is in ``/1c/v1/openapi.json`` with that method, every key it puts in a request body is a
property of that call's request (and it sends every required one), every key it reads
from an answer is a property of some answer, it parses exactly the answers' date-time
fields as dates, and it covers every call of the document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from terminal_bridge.onec.openapi import onec_openapi

MODULE = Path(__file__).resolve().parents[3] / "docs" / "1c" / "ЛояльностьОблако.bsl"
BLOCK = re.compile(r"^(Функция|Процедура)\s+(\w+)\((.*?)^(КонецФункции|КонецПроцедуры)",
                   re.MULTILINE | re.DOTALL)  # fmt: skip
CALL = re.compile(r'ВыполнитьЗапрос\("(GET|POST)",\s*"(/1c/v1/[^"]+)"')
PUT = re.compile(r'\b(?:Тело|Элемент)\.Вставить\("(\w+)"')
READ = re.compile(r'\.Получить\("(\w+)"\)')


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return onec_openapi()


def blocks() -> dict[str, str]:
    text = MODULE.read_text(encoding="utf-8")
    return {match.group(2): match.group(0) for match in BLOCK.finditer(text)}


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(document["components"]["schemas"][name])


def request_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = document["paths"][path][method.lower()]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return schema(document, ref.rsplit("/", 1)[1])


def answer_names(document: dict[str, Any]) -> set[str]:
    names = set()
    for item in document["paths"].values():
        for operation in item.values():
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            names.add(ref.rsplit("/", 1)[1])
    nested = {"Lapsing", "QuoteCustomer", "CalcLine", "HoldLine", "ReturnAnswerLine"}
    return names | nested


def test_every_call_is_in_the_document_with_its_keys(document: dict[str, Any]) -> None:
    """Each function that calls the API sends only its request's properties, all the
    required ones, to a path and method the document has; together they cover it."""
    called = set()
    for name, block in blocks().items():
        for method, path in CALL.findall(block):
            assert path in document["paths"], (name, path)
            assert method.lower() in document["paths"][path], (name, method, path)
            called.add(path)
            if method == "GET":
                continue
            request = request_schema(document, method, path)
            sent = set(PUT.findall(block))
            if "ДобавитьКлиента(" in block:
                sent |= set(PUT.findall(blocks()["ДобавитьКлиента"]))
            assert sent <= set(request["properties"]), (name, sent - set(request["properties"]))
            assert set(request.get("required", [])) <= sent, (name, request.get("required"))
    assert called == set(document["paths"]) - {"/1c/v1/openapi.json"}


HELPERS = [("СтрокиДляЗапроса", "Line"), ("СтрокиВозвратаДляЗапроса", "ReturnLine")]


@pytest.mark.parametrize(("helper", "model"), HELPERS)
def test_lines_are_built_with_the_line_keys(
    document: dict[str, Any], helper: str, model: str
) -> None:
    """The lines of a receipt and of a return carry only their model's keys, all the
    required ones."""
    line = schema(document, model)
    sent = set(PUT.findall(blocks()[helper]))
    assert sent <= set(line["properties"]) and set(line["required"]) <= sent


def test_what_it_reads_is_in_the_answers_and_dates_are_parsed(document: dict[str, Any]) -> None:
    """Keys read from answers exist in some answer; the date-time fields it asks
    ПрочитатьJSON to parse are exactly the answers' local date-time properties."""
    text = MODULE.read_text(encoding="utf-8")
    answers = {n: schema(document, n) for n in answer_names(document) | {"ErrorBody"}}
    properties = {key for model in answers.values() for key in model["properties"]}
    assert set(READ.findall(text)) <= properties
    dates = set()
    for model in answers.values():
        for key, value in model["properties"].items():
            options = value.get("anyOf", [value])
            if any("T\\d{2}" in option.get("pattern", "") for option in options):
                dates.add(key)
    declared = re.search(r'ПоляДат = СтрРазделить\("([^"]+)"', text)
    assert declared is not None
    assert set(declared.group(1).split(",")) == dates


def test_the_module_sends_utf8_without_bom_and_iso_dates() -> None:
    """The body is set as UTF-8 without a BOM and dates are written ISO, local."""
    text = MODULE.read_text(encoding="utf-8")
    assert "КодировкаТекста.UTF8," in text
    assert "ИспользованиеByteOrderMark.НеИспользовать" in text
    assert "ФорматДатыJSON.ISO" in text and "ВариантЗаписиДатыJSON.ЛокальнаяДата" in text
