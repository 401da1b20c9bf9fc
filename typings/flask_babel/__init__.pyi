# The part of Flask-Babel (4.x, no py.typed marker; Babel itself unannotated) that app/ uses.
from collections.abc import Callable
from typing import Any

from flask import Flask

class Babel:
    def __init__(self, app: Flask | None = ..., **kwargs: Any) -> None: ...
    def init_app(self, app: Flask, default_locale: str = ..., default_domain: str = ...,
                 default_translation_directories: str = ..., default_timezone: str = ...,
                 locale_selector: Callable[[], str | None] | None = ...,
                 timezone_selector: Callable[[], str | None] | None = ...) -> None: ...

def gettext(*args: Any, **kwargs: Any) -> str: ...
def get_translations() -> Any: ...

_ = gettext
