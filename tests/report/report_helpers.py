"""Shared helpers of the report tests (imported by name: this folder is on sys.path under pytest)."""

import dataclasses

TINY_ACTS = ("relu", "gelu", "silu")


def tiny_c01():
    """C01 itself (same run/verdict code, found by id in any worker) with a 20-step config on three
    activations: the smallest real run that still gives a verdict with 3 paired seeds."""
    from actlab.studies import get_study

    c01 = get_study("C01")
    cfg = dataclasses.replace(c01.profile("quick"), steps=20, eval_every=10)
    return dataclasses.replace(c01, profiles={"quick": cfg}, seeds={"quick": 3}, expected={"quick": "~3 s"},
                               activations=TINY_ACTS)
