"""The people of a sample: agents in each group and the requesters who raise tickets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST = (
    "Abel", "Ada", "Aisha", "Alex", "Amara", "Ana", "Anders", "Ben", "Beth", "Bruno", "Carla", "Chen", "Chloe",
    "Dan", "Dara", "David", "Elena", "Emeka", "Emma", "Farah", "Felix", "Fran", "Grace", "Hana", "Hugo", "Ian",
    "Ines", "Ivan", "Jane", "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luis", "Maya", "Mia",
    "Mohammed", "Nadia", "Nils", "Noah", "Olga", "Omar", "Paula", "Priya", "Rafael", "Rosa", "Sam", "Sara",
    "Sven", "Tariq", "Tess", "Tom", "Uma", "Vera", "Wei", "Yara", "Zoe",
)
LAST = (
    "Abbott", "Adeyemi", "Alvarez", "Anglin", "Bauer", "Becker", "Brown", "Castro", "Chen", "Costa", "Dubois",
    "Duarte", "Eriksen", "Evans", "Fischer", "Garcia", "Gupta", "Haddad", "Hansen", "Ito", "Jensen", "Kamau",
    "Khan", "Kim", "Kowalski", "Krystof", "Larsen", "Lee", "Lima", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura",
    "Novak", "Nowak", "Okafor", "Olsen", "Patel", "Perez", "Petrov", "Quinn", "Rossi", "Sato", "Schmidt", "Silva",
    "Singh", "Smith", "Sousa", "Tanaka", "Tuter", "Varga", "Vogel", "Wagner", "Walsh", "Weber", "Wright", "Yilmaz",
    "Young", "Zimmer",
)


@dataclass
class People:
    """Everyone in a sample; a person's id is their position in ``names``."""

    names: list[str]  # display names, "Jane Doe"
    logins: list[str]  # user names, "jane.doe"
    roster: np.ndarray  # int32 [groups, width]: the agents of each group, padded with -1
    roster_count: np.ndarray  # int32 [groups]
    requesters: np.ndarray  # int32: ids of the people who raise tickets
    agents: int  # ids below this are agents

    def member(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Return an agent of each group, drawn by ``u`` in [0, 1) (-1 where there is no group)."""
        g = np.maximum(group, 0)
        k = (u * self.roster_count[g]).astype(np.int64)
        return np.where(group >= 0, self.roster[g, k], -1).astype(np.int32)


def make_people(groups: list[str], tickets: int, rng: np.random.Generator, *, big: tuple[str, ...] = ()) -> People:
    """Return agents for each group (more for the groups in ``big``) and a pool of requesters.

    Staff grows with the number of tickets, within limits that keep every name unique.
    """
    per_group = int(np.clip(round(tickets / 120), 3, 20))
    sizes = [per_group * 2 if g in big else per_group for g in groups]
    n_requesters = int(np.clip(tickets // 3, 12, 2400))
    total = sum(sizes) + n_requesters
    combos = rng.permutation(len(FIRST) * len(LAST))[:total]
    names = [f"{FIRST[c // len(LAST)]} {LAST[c % len(LAST)]}" for c in combos]
    logins = [n.lower().replace(" ", ".") for n in names]
    roster = np.full((len(groups), max(sizes, default=1)), -1, np.int32)
    start = 0
    for g, size in enumerate(sizes):
        roster[g, :size] = np.arange(start, start + size)
        start += size
    return People(
        names=names,
        logins=logins,
        roster=roster,
        roster_count=np.array(sizes, np.int32),
        requesters=np.arange(start, total, dtype=np.int32),
        agents=start,
    )
