"""The spec: behaviours as data (behaviours/*.toml), their typed model and the loader."""

from shared.spec.loader import SpecError, load, parse, spec
from shared.spec.model import (
    NEEDS,
    SEND_STEPS,
    Behaviour,
    Case,
    ErrorRef,
    FormPart,
    HttpCase,
    HttpExpect,
    HttpRequest,
    HttpStep,
    Need,
    Payload,
    Spec,
    WsCase,
    WsStep,
    header_pairs,
)
from shared.spec.variables import placeholders, substitute

__all__ = [
    "NEEDS",
    "SEND_STEPS",
    "Behaviour",
    "Case",
    "ErrorRef",
    "FormPart",
    "HttpCase",
    "HttpExpect",
    "HttpRequest",
    "HttpStep",
    "Need",
    "Payload",
    "Spec",
    "SpecError",
    "WsCase",
    "WsStep",
    "header_pairs",
    "load",
    "parse",
    "placeholders",
    "spec",
    "substitute",
]
