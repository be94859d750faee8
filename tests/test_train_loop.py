"""The one training loop: checkpoints, and what a first and a second Ctrl-C keep."""

from __future__ import annotations

import pytest
import torch

from stylize_cli.errors import Interrupted
from stylize_cli.train.loop import Record, new_phase, train


def _run(interrupt_at: int, *, inside_step: bool) -> tuple[list[tuple[int, float]], Interrupted]:
    """A 'model' of one number that every step adds 1 to; a second signal arrives at `interrupt_at`,
    inside the step after the update (a generator stepped, its critic not) or after the step."""
    weight = torch.zeros(())
    saved: list[tuple[int, float]] = []
    record = Record()
    new_phase(record, torch.device("cpu"), "fp32", "test")

    def step(n: int) -> dict[str, torch.Tensor]:
        weight.add_(1)
        if n == interrupt_at and inside_step:
            raise KeyboardInterrupt
        return {"loss": weight.clone()}

    def progress(event: object) -> None:
        if event.step == interrupt_at and not inside_step:  # type: ignore[attr-defined]
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as stopped:
        train(step, record=record, steps=10, save=lambda r: saved.append((r.steps, float(weight))), save_every=2,
              stage="test", progress=progress)
    return saved, stopped.value


def test_a_second_signal_inside_a_step_keeps_the_previous_checkpoint() -> None:
    """It once saved the half-updated weights labelled as the step before."""
    saved, stopped = _run(5, inside_step=True)
    assert saved == [(2, 2.0), (4, 4.0)]  # nothing labelled step 4 with step 5's weights
    assert "checkpoint of step 4 is kept" in stopped.note


def test_a_second_signal_between_steps_saves_the_finished_step() -> None:
    saved, stopped = _run(5, inside_step=False)
    assert saved == [(2, 2.0), (4, 4.0), (5, 5.0)] and "saved step 5" in stopped.note


def test_a_non_finite_loss_leaves_the_weights_and_a_run_of_them_stops() -> None:
    """A batch the losses cannot score (the hatching penalty's log of 0 once turned a fine-tune's
    weights into NaN, and every later checkpoint kept them): the step is skipped; 20 in a row end the run."""
    from stylize_cli.errors import StylizeError
    from stylize_cli.train.loop import MAX_NONFINITE, descend

    weight = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([weight], lr=0.1)
    assert not descend(opt, (weight * float("nan")).sum()) and torch.equal(weight.data, torch.ones(3))
    assert not descend(opt, (weight.log() * 0).sum() + (weight - weight).sqrt().sum())  # finite loss, NaN grads
    assert torch.equal(weight.data, torch.ones(3))
    assert descend(opt, (weight ** 2).sum()) and not torch.equal(weight.data, torch.ones(3))

    saved: list[int] = []

    def step(n: int) -> dict[str, torch.Tensor]:
        return {"total": torch.tensor(float("nan") if n > 3 else 1.0)}

    record = Record()
    new_phase(record, torch.device("cpu"), "fp32", "test")
    with pytest.raises(StylizeError, match=f"not finite for {MAX_NONFINITE} steps in a row .* step 3"):
        train(step, record=record, steps=100, save=lambda r: saved.append(r.steps), save_every=1000, stage="t")
    assert saved == []  # nothing past step 3 was written over the last good checkpoint


def test_a_steps_losses_are_read_back_by_name_in_one_go() -> None:
    from stylize_cli.train.loop import read

    losses = {"content": torch.tensor(2.5), "style": torch.tensor([0.25], dtype=torch.bfloat16),
              "total": torch.tensor(3.0, requires_grad=True) * 1}
    assert read(losses) == {"content": 2.5, "style": 0.25, "total": 3.0}
    assert list(read(losses)) == ["content", "style", "total"]
