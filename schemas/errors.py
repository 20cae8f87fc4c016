"""The native API's error body: ``{"code": "...", "message": "..."}``."""

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
