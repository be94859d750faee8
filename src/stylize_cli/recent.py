"""The last few things made, by key: a pool of thousands of paintings drawn at random keeps a few
prepared (or a few stylizers) in memory, not all of them, and makes each again when it comes back."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """`recent[key]`: `make(key)`, kept for the `keep` keys used last."""

    def __init__(self, make: Callable[[K], V], keep: int) -> None:
        self.make, self.keep = make, keep
        self.ready: OrderedDict[K, V] = OrderedDict()

    def __getitem__(self, key: K) -> V:
        if key in self.ready:
            self.ready.move_to_end(key)
        else:
            self.ready[key] = self.make(key)
            if len(self.ready) > self.keep:
                self.ready.popitem(last=False)
        return self.ready[key]

    def __len__(self) -> int:
        return len(self.ready)
