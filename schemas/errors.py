"""The native API's error body, ``{"code": "...", "message": "..."}``, and the registry of
every code the API can answer, with its HTTP status and Russian message.

The OpenAPI document lists, for each operation, the codes of the scopes it belongs to
(``cloud.api.openapi``); a test scans the code base so that a code raised anywhere on
the native API's paths cannot be missing here. Messages with a ``«…»`` part are
templates: the answer names the field, the line or the limit concerned.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="стабильный код ошибки (см. список кодов)")
    message: str = Field(description="сообщение на русском языке, для кассира или оператора")


class ApiError(NamedTuple):
    code: str
    status: int
    message: str
    scopes: tuple[str, ...]
    """Which operations may answer it: ``all``, ``auth`` (every call with credentials),
    ``body`` (a call with a JSON body), ``path`` (a call with an id in its path),
    ``terminal`` (a till's token), ``checkout`` (every checkout call and the preview),
    ``refund``, ``sms``, ``register``, ``lookup``, ``customer`` (a customer by id),
    ``history``, ``cards``, ``programs``, ``customers_admin`` (the merchant's customer
    routes), ``admin_search``, ``admin_page``, ``adjust``, ``referrer`` (a change of the
    referrer); administration: ``operator``,
    ``stores``, ``store`` (a store by id), ``terminals``, ``terminal_tokens``, ``revoke``,
    ``keys``, ``key`` (a merchant key by id), ``signing`` (a SIGMA terminal's signing
    secret); ``ready`` (the readiness probe); ``metrics`` (``/metrics`` with
    ``LOYALTY_METRICS_TOKEN`` set); ``import``
    (the customer base import); messages: ``mailings``, ``mailing_send``, ``mailing`` (a
    mailing by id), ``templates``; ``join_links`` (the self-registration links); feedback:
    ``feedback_list`` (lists and NPS), ``feedback`` (a feedback by id); ``reports``;
    ``telegram`` (the merchant's bot); ``frontol`` (the Frontol link); ``moysklad`` (the
    МойСклад installations), ``moysklad_installation`` (one by id); ``catalogue`` (the
    product catalogue), ``catalogue_read`` (its listing and export); fiscal QR claims:
    ``fiscal`` (the settings), ``fiscal_drives``, ``fiscal_drive`` (a drive by id),
    ``fiscal_claims``; gift certificates: ``gift_issue``, ``gift_list``,
    ``gift_certificate`` (one by id), ``gift_till`` (the till's status check and sale);
    plans: ``plans`` (the operator's), ``usage`` (the merchant's
    month); coupons: ``coupon_campaigns`` (issuing a batch), ``coupon_campaign`` (a campaign by
    id), ``coupon_revoke``; store bridges: ``bridge_program``, ``bridge_customers``;
    ``route``: any address of the API, outside the operations (an
    unknown path, a method a path does not serve)."""


ERRORS: tuple[ApiError, ...] = (
    # ---- the request itself ----
    ApiError("malformed_json", 400, "Некорректный JSON в теле запроса", ("body",)),
    ApiError("validation_error", 400,
             "Ошибка в данных: «поле»: «что не так» (до пяти полей)", ("body",)),
    ApiError("inexact_number", 400,
             "Число «…» нельзя принять точно: не больше 15 значащих цифр", ("body",)),
    ApiError("nul_character", 400, "Строки не могут содержать символ NUL (\\u0000)",
             ("body", "lookup", "admin_search")),
    ApiError("request_timeout", 408, "Тело запроса не получено за 30 с",
             ("body", "import", "catalogue")),
    ApiError("too_large", 413, "Слишком большое тело запроса", ("body",)),
    ApiError("not_found", 404, "Нет такого адреса API", ("path", "route")),
    ApiError("method_not_allowed", 405, "Метод не поддерживается", ("route",)),
    ApiError("internal_error", 500, "Внутренняя ошибка сервиса, повторите позже", ("all",)),
    ApiError("database_unavailable", 503, "Сервис не готов: база данных не отвечает",
             ("all",)),
    ApiError("metrics_unauthorized", 401,
             "Нужен заголовок Authorization: Bearer <токен метрик>", ("metrics",)),
    # ---- credentials ----
    ApiError("missing_token", 401,
             "Нужен заголовок Authorization: Bearer <токен> (или Basic с токеном)", ("auth",)),
    ApiError("invalid_token", 401,
             "Неверный токен терминала (ключ API компании, токен оператора)", ("auth",)),
    ApiError("wrong_channel", 401, "Токен выдан для канала «…», не для этого API",
             ("terminal",)),
    ApiError("merchant_suspended", 402, "Обслуживание программы лояльности приостановлено",
             ("terminal",)),
    # ---- customers, phones and cards ----
    ApiError("invalid_phone", 400, "Не удалось разобрать номер телефона «…»",
             ("checkout", "lookup", "register", "sms", "admin_search", "referrer")),
    ApiError("invalid_card", 400, "Пустой номер карты",
             ("checkout", "lookup", "register", "cards", "admin_search", "referrer")),
    ApiError("customer_not_found", 404, "Клиент не найден",
             ("checkout", "lookup", "customer")),
    ApiError("customer_ref_required", 400, "Укажите ровно один параметр: phone или card",
             ("lookup", "admin_search")),
    ApiError("invalid_query", 400,
             "Параметр «…»: целое от 1 до 9 223 372 036 854 775 807 (строка: от 1 до 32 "
             "или 64 символов)",
             ("lookup", "history", "admin_search", "admin_page", "import", "join_links",
              "feedback_list", "reports", "catalogue_read", "fiscal_claims", "gift_list",
              "gift_till", "coupon_campaigns", "coupon_campaign", "bridge_customers")),
    ApiError("invalid_limit", 400, "Размер страницы должен быть от 1 до 100",
             ("history", "admin_search", "admin_page", "feedback_list", "reports", "catalogue",
              "gift_list")),
    ApiError("consent_required", 400,
             "Нужно согласие клиента на обработку персональных данных", ("register",)),
    ApiError("sms_code_required", 400, "Для регистрации нужен код из SMS", ("register",)),
    ApiError("referrer_not_found", 422,
             "Пригласивший клиент не найден: укажите телефон, карту или код уже "
             "зарегистрированного клиента", ("register", "referrer")),
    ApiError("self_referral", 422, "Клиент не может пригласить сам себя",
             ("register", "referrer")),
    ApiError("referral_cycle", 422,
             "Нельзя: этот клиент приглашён (напрямую или через других) тем, кого меняют",
             ("referrer",)),
    ApiError("customer_exists", 409, "Клиент с таким номером телефона уже зарегистрирован",
             ("register",)),
    ApiError("card_taken", 409, "Эта карта уже привязана к другому клиенту",
             ("register", "cards")),
    ApiError("physical_card_required", 400,
             "В программе с пластиковыми картами на кассе клиента регистрируют с картой: "
             "отсканируйте или введите номер выдаваемой карты", ("register",)),
    ApiError("invalid_idempotency_key", 400,
             "Ключ идемпотентности: от 1 до 200 печатных символов ASCII",
             ("register", "adjust", "mailing_send")),
    ApiError("idempotency_key_mismatch", 400,
             "Ключи идемпотентности в заголовке и в теле запроса различаются", ("register",)),
    ApiError("idempotency_key_reused", 409,
             "Ключ идемпотентности уже использован для другого запроса",
             ("register", "mailing_send")),
    ApiError("idempotency_in_progress", 409,
             "Запрос с этим ключом идемпотентности ещё выполняется, повторите позже",
             ("register", "mailing_send")),
    # ---- SMS codes ----
    ApiError("invalid_purpose", 422, "Неизвестное назначение кода «…»", ("sms",)),
    ApiError("sms_rate_limited", 429,
             "Слишком много кодов на этот номер за час. Повторите через «…» мин.", ("sms",)),
    ApiError("sms_code_invalid", 422, "Неверный код. Осталось попыток: «…».",
             ("checkout", "register", "sms")),
    ApiError("sms_code_expired", 422, "Срок действия кода истёк. Запросите новый код.",
             ("checkout", "register", "sms")),
    ApiError("sms_code_attempts_exceeded", 422,
             "Превышено число попыток ввода кода. Запросите новый код.",
             ("checkout", "register", "sms")),
    ApiError("sms_code_not_found", 422,
             "Код не запрашивался или уже использован. Запросите новый код.",
             ("checkout", "register", "sms")),
    # ---- checkout ----
    ApiError("merchant_not_found", 404, "Компания не найдена", ("checkout", "plans")),
    ApiError("no_program", 409, "У компании нет активной программы лояльности",
             ("checkout", "catalogue", "coupon_campaigns", "bridge_program")),
    ApiError("customer_required", 400, "Для оплаты бонусами укажите клиента", ("checkout",)),
    ApiError("sms_code_required", 422,
             "Для оплаты бонусами нужен код из SMS, отправленного клиенту", ("checkout",)),
    ApiError("insufficient_bonuses", 422, "Недостаточно бонусов для резерва",
             ("checkout", "adjust")),
    ApiError("card_blocked", 422,
             "Карта заблокирована: бонусы не начисляются и не списываются: оплата бонусами "
             "недоступна", ("checkout",)),
    ApiError("hold_expired", 422, "Резерв бонусов истёк, а свободных бонусов не хватает",
             ("checkout",)),
    ApiError("redeem_negative", 422, "Сумма списания не может быть отрицательной",
             ("checkout",)),
    ApiError("redeem_exceeds_limit", 422, "Можно списать не больше «…» бонусов",
             ("checkout",)),
    ApiError("redeem_exceeds_receipt", 422, "Списано бонусов больше суммы чека («…»)",
             ("checkout",)),
    ApiError("redeem_step", 422, "Списывать можно только суммы, кратные «…»", ("checkout",)),
    ApiError("invalid_line", 422, "Сумма позиции «…» не может быть отрицательной",
             ("checkout",)),
    ApiError("distribution_negative", 422, "Нельзя распределить отрицательную сумму",
             ("checkout",)),
    ApiError("distribution_exceeds_caps", 422,
             "Сумма больше, чем можно распределить по позициям", ("checkout",)),
    ApiError("customer_mismatch", 422, "«Телефон и карта» в чеке указывают на разных клиентов",
             ("checkout",)),
    ApiError("idempotency_conflict", 409,
             "«Чек» с номером «…» уже проведён с другим содержимым: номер использован "
             "повторно. Проверьте нумерацию на кассе", ("checkout", "refund")),
    ApiError("receipt_closed", 409, "Чек уже закрыт: изменить его нельзя, только вернуть",
             ("checkout",)),
    ApiError("receipt_not_found", 404, "Чек продажи «…» не найден", ("refund",)),
    ApiError("unknown_line", 400, "В чеке нет позиции «…»", ("refund",)),
    ApiError("duplicate_line", 400, "Позиция «…» указана дважды", ("refund",)),
    ApiError("refund_exceeds_sale", 422, "По позиции «…» можно вернуть не больше «…»",
             ("refund",)),
    ApiError("already_refunded", 409, "Чек уже возвращён полностью", ("refund",)),
    # ---- gift certificates (the till; the merchant key) ----
    ApiError("gift_certificate_not_found", 404, "Сертификат №«…» не найден",
             ("checkout", "gift_till", "gift_certificate")),
    ApiError("gift_certificate_not_activated", 422,
             "Сертификат №«…» не активирован: его ещё не продавали", ("checkout",)),
    ApiError("gift_certificate_used", 422, "Сертификат №«…» уже использован", ("checkout",)),
    ApiError("gift_certificate_expired", 422, "Срок действия сертификата №«…» истёк",
             ("checkout", "gift_till")),
    ApiError("gift_certificate_voided", 422, "Сертификат №«…» аннулирован", ("checkout",)),
    ApiError("gift_certificate_insufficient", 422, "На сертификате №«…» доступно «…» ₽",
             ("checkout",)),
    ApiError("gift_certificate_exceeds_receipt", 422,
             "Сертификатами можно оплатить не больше «…» ₽: это сумма чека после скидок и "
             "бонусов", ("checkout",)),
    ApiError("gift_certificate_already_sold", 409,
             "Сертификат №«…» уже продан или выдан: продать его ещё раз нельзя", ("gift_till",)),
    ApiError("gift_certificate_exists", 409, "Сертификаты уже выпущены: №«…»",
             ("gift_issue",)),
    ApiError("invalid_gift_certificate_expiry", 400,
             "Последний день действия сертификата: от сегодня до десяти лет вперёд",
             ("gift_issue",)),
    ApiError("gift_certificate_not_voidable", 409,
             "Аннулировать можно только действующий или непроданный сертификат, на котором "
             "нет резерва открытого чека", ("gift_certificate",)),
    # ---- programs (merchant API key) ----
    ApiError("invalid_program", 400, "Ошибка в данных: «поле»: «что не так»", ("programs",)),
    ApiError("program_not_found", 404, "Версия программы «…» не найдена", ("programs",)),
    # ---- the merchant's customers (merchant API key) ----
    ApiError("name_search_unsupported", 400,
             "Поиск по имени недоступен: имена клиентов хранятся зашифрованными. Ищите по "
             "телефону (?phone=) или номеру карты (?card=)", ("admin_search",)),
    ApiError("idempotency_key_required", 400, "Для корректировки нужен заголовок "
             "Idempotency-Key", ("adjust",)),
    ApiError("idempotency_conflict", 409,
             "Ключ идемпотентности «…» уже использован для другой корректировки", ("adjust",)),
    ApiError("invalid_adjustment", 400,
             "Сроки (lifetime_days, expires_on, activates_on) — только для начисления",
             ("adjust",)),
    ApiError("invalid_activation_date", 400, "Дата активации не может быть в прошлом",
             ("adjust",)),
    ApiError("invalid_expiry", 400, "Укажите что-то одно: срок жизни в днях или дату "
             "сгорания (не раньше активации, не дальше десяти лет)", ("adjust",)),
    # ---- import of a customer base (merchant API key) ----
    ApiError("unsupported_media_type", 415, "Тело запроса — файл .xlsx (Content-Type «…») "
             "или .csv (text/csv)", ("import", "catalogue")),
    ApiError("import_too_large", 413, "Файл больше «…» МБ: разделите его", ("import",)),
    ApiError("import_unreadable", 400, "Файл не читается как «таблица .xlsx» или «CSV»",
             ("import",)),
    ApiError("import_empty", 400, "Файл пуст: нужна строка заголовков и строки клиентов",
             ("import",)),
    ApiError("import_columns", 400, "Первая строка файла — заголовки столбцов (см. шаблон): "
             "«что не так»", ("import",)),
    ApiError("import_too_many_rows", 400, "В одном файле — не больше 200000 строк клиентов: "
             "разделите файл", ("import",)),
    ApiError("import_conflict", 409, "Пока файл загружался, на кассе зарегистрировали "
             "клиента из него: ничего не загружено, повторите загрузку", ("import",)),
    ApiError("import_rejected", 422, "В файле «…» ошибочных строк: ничего не загружено "
             "(список — в report.errors)", ("import",)),
    # ---- the product catalogue (merchant API key) ----
    ApiError("catalogue_too_large", 413, "Файл больше «…» МБ: разделите его", ("catalogue",)),
    ApiError("catalogue_unreadable", 400, "Файл не читается как «таблица .xlsx» или «CSV»",
             ("catalogue",)),
    ApiError("catalogue_empty", 400,
             "Файл пуст: нужна строка заголовков (код; категория) и строки товаров",
             ("catalogue",)),
    ApiError("catalogue_columns", 400, "Первая строка файла — заголовки столбцов: нет "
             "столбца «код (code)» и/или «категория (category)»", ("catalogue",)),
    ApiError("catalogue_too_many_rows", 400, "В каталоге — не больше 200000 строк: "
             "объедините коды в префиксы (12*)", ("catalogue",)),
    ApiError("catalogue_invalid_rows", 422, "Ошибки в строках («…»): строка «…»: «что не так»"
             "; … Ничего не загружено, каталог остался прежним.", ("catalogue",)),
    ApiError("catalogue_unknown_category", 422, "Таких категорий нет в действующей "
             "программе: «категория» — строки «…». Категории программы: «…». Ничего не "
             "загружено, каталог остался прежним.", ("catalogue",)),
    # ---- administration (operator token; merchant key) ----
    ApiError("operator_disabled", 403,
             "API оператора платформы выключен: задайте LOYALTY_OPERATOR_TOKEN", ("operator",)),
    ApiError("invalid_timezone", 400, "Неизвестный часовой пояс «…»", ("operator", "stores")),
    ApiError("invalid_name", 400, "Название: от 1 до 200 символов, без управляющих",
             ("operator", "stores", "terminals")),
    ApiError("store_not_found", 404, "Магазин «…» не найден",
             ("store", "join_links", "fiscal_drives")),
    ApiError("invalid_campaign", 400, "Кампания: от 1 до 64 печатных символов",
             ("join_links",)),
    ApiError("unknown_store", 400, "Магазин не найден", ("terminals",)),
    ApiError("unknown_channel", 400, "Неизвестный канал «…»: допустимы «…»", ("terminals",)),
    ApiError("terminal_not_found", 404, "Терминал «…» не найден",
             ("terminal_tokens", "revoke", "signing")),
    ApiError("signing_not_supported", 400,
             "Подпись запросов есть только у терминалов SIGMA, а этот — «…»", ("signing",)),
    ApiError("terminal_read_only", 400,
             "Терминал Эвотор (подключается через маркет Эвотор), чеков по QR-коду "
             "(виртуальный) или касса в кабинете (по входу сотрудника): токен ему не выдаётся",
             ("terminal_tokens",)),
    ApiError("revoke_target", 400, "Укажите либо токен, либо терминал (одно из двух)",
             ("revoke",)),
    ApiError("owner_only", 403, "Это может только владелец (ключ с ролью owner)",
             ("keys", "telegram", "frontol", "fiscal", "moysklad")),
    ApiError("key_revoked", 403, "Ключ уже заменён другим запросом", ("keys",)),
    ApiError("unknown_role", 400, "Неизвестная роль «…»: owner или manager", ("keys",)),
    ApiError("key_not_found", 404, "Ключ «…» не найден", ("key",)),
    ApiError("invalid_plan", 400, "Тариф: название от 1 до 100 печатных символов, чеков от 0 до "
             "1 000 000 000, бюджет сообщений от 0 до 100 000 000 ₽", ("plans",)),
    ApiError("plan_not_set", 404, "Тариф компании не назначен", ("plans",)),
    # ---- messages: mailings and templates (merchant key) ----
    ApiError("mailing_no_recipients", 422,
             "В сегменте нет клиентов, согласных получать сообщения: рассылка не создана",
             ("mailing_send",)),
    ApiError("mailing_not_found", 404, "Рассылка «…» не найдена", ("mailing",)),
    ApiError("unknown_message_kind", 400, "Нет такого вида сообщений «…»", ("templates",)),
    ApiError("invalid_template", 400, "Шаблон: неизвестная переменная «…» или непарная скобка",
             ("templates",)),
    # ---- feedback (merchant key) ----
    ApiError("invalid_period", 400, "Начало периода позже его конца", ("feedback_list",)),
    ApiError("feedback_not_found", 404, "Отзыв «…» не найден", ("feedback",)),
    ApiError("feedback_replied", 409, "На этот отзыв уже ответили", ("feedback",)),
    # ---- the merchant's Telegram bot (merchant key) ----
    ApiError("telegram_bot_not_set", 404, "У компании нет бота Telegram", ("telegram",)),
    ApiError("telegram_token_malformed", 400,
             "Токен бота имеет вид «123456789:AA…» (из @BotFather)", ("telegram",)),
    ApiError("telegram_token_invalid", 422, "Telegram не принял токен бота: проверьте его",
             ("telegram",)),
    ApiError("telegram_bot_taken", 409, "Этот бот уже подключён к другой компании",
             ("telegram",)),
    ApiError("telegram_unavailable", 503, "Telegram не ответил, повторите позже",
             ("telegram",)),
    # ---- the merchant's Frontol link (merchant key) ----
    ApiError("frontol_not_set", 404, "Frontol не подключён: выпустите ключ доступа",
             ("frontol",)),
    # ---- the merchant's МойСклад installations (merchant key) ----
    ApiError("moysklad_installation_not_found", 404, "Подключение МойСклад не найдено",
             ("moysklad_installation",)),
    # ---- fiscal QR claims (merchant key) ----
    ApiError("fiscal_not_configured", 404, "Проверка чеков по QR-коду не настроена",
             ("fiscal",)),
    ApiError("fiscal_drive_taken", 409, "Фискальный накопитель «…» уже зарегистрирован в "
             "сервисе", ("fiscal_drives",)),
    ApiError("fiscal_drive_not_found", 404, "Фискальный накопитель «…» не найден",
             ("fiscal_drive",)),
    # ---- coupon campaigns (merchant key) ----
    ApiError("unknown_coupon_rule", 422, "В действующей программе нет купонного правила «…» "
             "(есть: «…»)", ("coupon_campaigns",)),
    ApiError("coupon_campaign_not_found", 404, "Купонная акция «…» не найдена",
             ("coupon_campaign",)),
    ApiError("coupon_not_found", 404, "В акции нет купонов: «…»", ("coupon_revoke",)),
)  # fmt: skip


def errors_for(scopes: set[str]) -> list[ApiError]:
    """The registry's errors an operation of these scopes may answer, by status then code."""
    wanted = scopes | {"all"}
    return sorted(
        (error for error in ERRORS if wanted.intersection(error.scopes)),
        key=lambda error: (error.status, error.code),
    )
