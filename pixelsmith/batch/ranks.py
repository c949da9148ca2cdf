"""Ranks: who this process is under torchrun (or a scheduler), its device, and the meeting at
the end where rank 0 combines every rank's summary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from pixelsmith.errors import PixelsmithError


def ranks_from_env() -> tuple[int, int, int]:
    """``(rank, world size, local rank)`` as torchrun (or a scheduler) sets them."""
    try:
        rank = int(os.environ["RANK"])
        world = int(os.environ["WORLD_SIZE"])
    except KeyError:
        raise PixelsmithError(
            "--distributed takes the rank from RANK and WORLD_SIZE (torchrun sets them); "
            "run under torchrun, set them, or give --rank and --world-size"
        ) from None
    except ValueError:
        raise PixelsmithError(
            f"RANK={os.environ['RANK']!r} and WORLD_SIZE={os.environ['WORLD_SIZE']!r} must be "
            "whole numbers"
        ) from None
    return rank, world, int(os.environ.get("LOCAL_RANK", "0") or 0)


def rank_device(device: str, local_rank: int) -> str:
    """``cuda`` (or ``auto`` on a CUDA machine) is this rank's own GPU, ``cuda:LOCAL_RANK``."""
    if device == "cuda" or device == "auto":
        import torch

        if torch.cuda.is_available():
            return f"cuda:{local_rank % torch.cuda.device_count()}"
    return device


def combine(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every rank's :meth:`~pixelsmith.batch.RunReport.counts` as one: sums, and the slowest
    rank's seconds."""
    out: dict[str, Any] = {"ranks": len(summaries)}
    for key in ("share", "done", "skipped", "failed"):
        out[key] = sum(s[key] for s in summaries)
    out["left_out"] = max((s["left_out"] for s in summaries), default=0)  # each rank finds all
    out["seconds"] = max((s["seconds"] for s in summaries), default=0.0)
    out["finished"] = all(s["finished"] for s in summaries)
    out["failures"] = [f for s in summaries for f in s["failures"]]
    return out


@contextmanager
def meeting(mine: dict[str, Any], world_size: int) -> Iterator[list[dict[str, Any]] | None]:
    """Every rank's summary, on every rank, when torchrun launched this process (its store is
    where the ranks meet); ``None`` otherwise. Ranks wait at the start for the slowest rank, and
    leave the block together: one rank's exit must not make torchrun stop the others while they
    still work or write the combined summary."""
    if "TORCHELASTIC_RUN_ID" not in os.environ or "MASTER_ADDR" not in os.environ:
        yield None
        return
    from datetime import timedelta

    import torch.distributed as dist

    everyone: list[Any] | None = [None] * world_size
    try:
        dist.init_process_group("gloo", timeout=timedelta(days=7))
        dist.all_gather_object(everyone, mine)
    except Exception as e:  # the files are written; only the combined summary is lost
        click.echo(
            f"pixelsmith: warning: ranks could not meet to combine summaries ({e})", err=True
        )
        everyone = None
    try:
        yield everyone
    finally:
        if dist.is_initialized():
            try:
                dist.barrier()
            finally:
                dist.destroy_process_group()
