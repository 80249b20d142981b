"""Outrider's benchmark suite: ``python -m bench`` writes ``bench/RESULTS.md`` and ``bench/results.json``.

End-to-end scenarios run a real agent on loopback against a real peer (nginx, a bare
Starlette app on the same server, the pure-Python twin, a shell pipe) measured in the
same run, interleaved; micro-benchmarks compare each native piece with its twin.
"""
