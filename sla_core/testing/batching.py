"""Batch-invariance checks: the same items, scored in random groupings and orders, must come back the same.

A teacher re-marking one recording alone, inside a full test, or inside a class must get the same number;
these helpers let a test score the same items every way a path might batch them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

TOL_BATCH = 1e-5  # fp32 on CPU: batch layout may change float rounding, never more (issue 18)


def random_groupings(n: int, seed: int = 0, rounds: int = 3) -> list[list[list[int]]]:
    """`rounds` ways to batch items 0..n-1: each a shuffled order cut into groups of random sizes.

    The first way is every item alone; the second all items in one batch, reversed.
    """
    rng = random.Random(seed)  # fixed seed: a failing grouping can be replayed
    ways = [[[i] for i in range(n)], [list(reversed(range(n)))]]
    for _ in range(rounds):
        order = list(range(n))
        rng.shuffle(order)
        groups, start = [], 0
        while start < n:
            size = rng.randint(1, max(1, n - start))
            groups.append(order[start : start + size])
            start += size
        ways.append(groups)
    return ways


def score_grouped(score: Callable[[list[Item]], Sequence[Result]], items: Sequence[Item],
                  groups: list[list[int]]) -> list[Result]:
    """Call `score` once per group; the results back in the items' order."""
    out: dict[int, Result] = {}
    for group in groups:
        results = score([items[i] for i in group])
        if len(results) != len(group):
            raise AssertionError(f"{len(group)} items in, {len(results)} results out")
        out.update(zip(group, results))
    return [out[i] for i in range(len(items))]


__all__ = ["TOL_BATCH", "random_groupings", "score_grouped"]
