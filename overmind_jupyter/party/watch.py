"""What a guest watches live: its party's events, and the objectives it may follow.

A prompt becomes (part of) an objective whose events carry the objective, not the party;
its agents' events carry their mission. A guest receives (the seed's live view):

- every event of its party (redacted by ``view.event_view`` as before);
- every event of an objective it may follow, and of that objective's agent missions
  (``agent-spawned`` names them).

A guest may follow an objective when each prompt in it is its own or shared by the host:
the visibility rule (a prompt's text and its run's detail reach only its submitter and
the host, unless the host shares it) holds for an objective the story agent made of
several members' prompts too — its plan and its agents' prompts carry their text — so
such an objective reaches its guests once the host shares their prompts.

``Watch`` is computed from the records at the start, then kept current from the events it
sees (an objective created, a prompt shared, an agent spawned); an objective that becomes
followable when the host shares a prompt later is followed from then on, its earlier
events arrive with the next replay (a reconnect). The host's own views are not scoped.
"""

from __future__ import annotations

from ..errors import NotFound
from ..events import Event
from ..store.records import Records


class Watch:
    """The events guest ``member`` of party ``party`` receives (see the module docstring).

    Args:
        records: the host's records (objectives, prompts, tasks).
        party, member: the party's and the guest's record ids.
    """

    def __init__(self, records: Records, party: str, member: str) -> None:
        self.records, self.party, self.member = records, party, member
        self.objectives: set[str] = set()
        self.missions: set[str] = set()
        for oid in {p.data.objective for p in records.list("prompt", parent=party)
                    if p.data.objective}:
            self._consider(oid)

    def _consider(self, oid: str) -> None:
        """Follow objective ``oid`` (and its agents) if the guest may."""
        if oid in self.objectives or not self.may_follow(oid):
            return
        self.objectives.add(oid)
        self.missions |= {t.data.mission for t in self.records.list("task", parent=oid)
                          if t.data.mission}

    def may_follow(self, oid: str) -> bool:
        """Whether every prompt of objective ``oid`` is this guest's or shared."""
        try:
            prompts = [self.records.get("prompt", pid)
                       for pid in self.records.get("objective", oid).data.prompts]
        except NotFound:
            return False  # not a party objective (or a prompt of no party)
        return bool(prompts) and all(p.parent == self.party and (
            p.data.member == self.member or p.data.visibility == "shared") for p in prompts)

    def matches(self, event: Event) -> bool:
        """Whether the guest receives ``event`` (learning from it first)."""
        self._learn(event)
        return event.get("party") == self.party or \
            event.get("objective") in self.objectives or event.get("mission") in self.missions

    def _learn(self, event: Event) -> None:
        data = event["data"]
        if event["type"] == "objective-created" and event.get("objective"):
            self._consider(event["objective"])  # its record and its prompts' are committed
        elif event["type"] == "prompt-status" and event.get("party") == self.party and \
                data.get("objective"):
            self._consider(data["objective"])  # shared later: followed from now on
        elif event["type"] == "agent-spawned" and event.get("objective") in self.objectives:
            mission = event.get("mission")
            if mission:
                self.missions.add(mission)

    def any_of(self) -> dict[str, list[str]]:
        """The replay's selection: events whose column has one of these values."""
        return {"party": [self.party], "objective": sorted(self.objectives),
                "mission": sorted(self.missions)}
