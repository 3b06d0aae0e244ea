"""Read the two implementations side by side: `python -m compare list|show|matrix|site`."""

from __future__ import annotations

import difflib

from shared.spec import Behaviour, Spec


class UnknownBehaviour(LookupError):
    """A behaviour id that is not in the spec; the message offers the close ones."""

    def __init__(self, wanted: str, known: list[str]) -> None:
        self.wanted = wanted
        self.matches = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
        self.matches += [k for k in known if wanted and wanted in k and k not in self.matches]
        hint = f" Did you mean: {', '.join(self.matches)}?" if self.matches else ""
        super().__init__(f"no behaviour {wanted!r} in the spec.{hint} Known: {', '.join(known)}")

    def __str__(self) -> str:
        return str(self.args[0])


def find_behaviour(spec: Spec, behaviour_id: str) -> Behaviour:
    try:
        return spec.behaviour(behaviour_id)
    except KeyError:
        raise UnknownBehaviour(behaviour_id, [b.id for b in spec.behaviours]) from None
