"""Coroutines run eagerly: at once as far as they go, the rest as a task, failures logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bridge.aiortc_hooks.eager import run_eagerly
from harness.waiting import eventually


async def test_a_coroutine_that_never_waits_is_done_when_the_call_returns() -> None:
    steps: list[str] = []

    async def inner() -> None:
        steps.append("inner")

    async def outer() -> None:
        steps.append("outer")
        await inner()  # a coroutine that does not wait does not give the loop a turn
        steps.append("done")

    run_eagerly(outer(), "the test")
    assert steps == ["outer", "inner", "done"]


async def test_one_that_waits_runs_up_to_the_wait_and_goes_on_with_its_result() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    steps: list[object] = []

    async def waits() -> None:
        steps.append("before")
        steps.append(await future)
        await asyncio.sleep(0)  # only gives way
        steps.append("after")

    run_eagerly(waits(), "the test")
    assert steps == ["before"]
    future.set_result(42)
    await eventually(lambda: steps == ["before", 42, "after"], timeout=2, message="went on")


async def test_the_exception_it_waited_for_is_raised_inside_it() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    caught: list[BaseException] = []

    async def waits() -> None:
        try:
            await future
        except ConnectionError as exc:
            caught.append(exc)

    run_eagerly(waits(), "the test")
    future.set_exception(ConnectionError("gone"))
    await eventually(lambda: caught, timeout=2, message="the failure seen inside")
    assert str(caught[0]) == "gone"


async def test_a_failure_is_logged_and_never_raised_to_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def fails_at_once() -> None:
        raise ValueError("broken at once")

    async def fails_later() -> None:
        await future
        raise ValueError("broken later")

    with caplog.at_level(logging.WARNING, logger="telebridge.bridge.aiortc_hooks.eager"):
        run_eagerly(fails_at_once(), "sending a NACK")
        run_eagerly(fails_later(), "handling a packet")
        future.set_result(None)
        await eventually(
            lambda: "broken later" in caplog.text, timeout=2, message="the later failure logged"
        )
    assert "sending a NACK failed: ValueError('broken at once')" in caplog.text
    assert "handling a packet failed: ValueError('broken later')" in caplog.text
