"""Run shell commands at once, each in a greenlet, with the blocking stdlib subprocess API.

    python samples/parallel_commands.py

After ``patch_all()``, ``subprocess.run`` waits on the hub: ten commands that each take half a
second finish together in about half a second, and a ticker greenlet keeps ticking meanwhile.
Prints each command's output as it finishes, then ``ticks: N`` and ``done in S s``.
"""

import monkeypatch

monkeypatch.patch_all()

import subprocess  # noqa: E402  (after patching, as a program would)
import time  # noqa: E402

import hub  # noqa: E402


def command(i: int) -> None:
    result = subprocess.run(
        ["sh", "-c", f"sleep 0.5; echo command {i} finished"], capture_output=True, text=True
    )
    print(result.stdout.strip(), flush=True)


def ticker(ticks: list[int]) -> None:
    while True:
        ticks.append(1)
        time.sleep(0.05)  # cooperative too


def main() -> None:
    start = time.monotonic()
    ticks: list[int] = []
    tick = hub.spawn(ticker, ticks)
    hub.joinall([hub.spawn(command, i) for i in range(10)])
    tick.kill()
    print(f"ticks: {len(ticks)}")
    print(f"done in {time.monotonic() - start:.2f} s")


if __name__ == "__main__":
    main()
