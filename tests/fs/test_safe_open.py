"""Unit tests for ``open_beneath``: a hostile corpus, twin parity on random trees, and a swap race.

Every opener runs the same bodies: the native twin with ``openat2``, the native
component walk alone, and the pure twin. Random trees are also checked against
a small path-string model of the resolution rules, so a bug shared by both
walks cannot hide behind their agreement.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from outrider.fs import safe_open
from outrider.fs.errors import ESCAPE_MESSAGE, PathEscapesError
from outrider.fs.safe_open import IMPLEMENTATIONS, is_secret_path
from tests.twins import pick

Opener = Callable[[int, str, str, int], tuple[int, str]]

FD_DIR = "/proc/self/fd"
RO = os.O_RDONLY | os.O_NONBLOCK  # NONBLOCK: opening a FIFO must not wait for a writer
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _openers() -> dict[str, Opener | None]:
    native = IMPLEMENTATIONS.get("native")
    pure = IMPLEMENTATIONS["pure"]
    return {
        "native": native.open_beneath if native else None,
        "native-walk": native.open_beneath_walk if native else None,
        "pure": pure.open_beneath,
    }


OPENERS = _openers()


@pytest.fixture(scope="module", params=list(OPENERS))
def opener(request: pytest.FixtureRequest) -> Opener:
    fn = OPENERS[request.param]
    if fn is None:
        pick(IMPLEMENTATIONS, "native", "safe_open")
    assert fn is not None
    return fn


def _available_openers() -> dict[str, Opener]:
    return {name: fn for name, fn in OPENERS.items() if fn is not None}


def _fds() -> list[str]:
    return sorted(os.listdir(FD_DIR))


# ---------------------------------------------------------------- hostile corpus

ESCAPE = "escape"


@dataclass(frozen=True)
class Alloc:
    root: str
    root_real: str
    root_fd: int


def _links(root: str, tmp: str) -> dict[str, str | bytes]:
    return {
        "to_etc": "/etc",
        "to_passwd": "/etc/passwd",
        "to_slash": "/",
        "abs_file": f"{root}/file",
        "abs_root": root,
        "abs_root_slash": f"{root}/",
        "abs_dotdot": f"{root}/../abc/file",
        "abs_sibling": f"{root}X/secret",
        "abs_sibling_dir": f"{root}X",
        "abs_upper": f"{root.upper()}/file",
        "abs_dangling_in": f"{root}/nope",
        "abs_dangling_out": "/nonexistent-outrider-dir/x",
        "rel_out": "../out",
        "rel_out_back_in": "../abc/file",
        "rel_in": "dir/../file",
        "dir/sub/up2": "../../file",
        "dir/sub/up3": "../../../out",
        "dir/sub/back": "../../web",
        "dotted": "./dir/./sub/f",
        "esc_a": "esc_b",
        "esc_b": "dir/../../abc/esc_c",
        "esc_c": "file",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "self_loop": "self_loop",
        "dangling": "nonexistent",
        "dirlink": "dir",
        "file_slash": "file/",
        "file_dot": "file/.",
        "proc_fd": "/proc/self/fd/0",
        "proc_root": "/proc/self/root",
        "peek": "web/secrets/token",
        "longcomp": "y" * 300,
        "tocafe": b"caf\xe9",
        "alloc/logs/up": "../../web/local/file.txt",
        "swap": "file",
        "outside_dir": f"{tmp}/outdir",
    }


def _chain(root: Path, name: str, length: int) -> None:
    for i in range(length):
        target = f"{name}_{i + 1}" if i + 1 < length else "file"
        os.symlink(target, root / f"{name}_{i}")


@pytest.fixture(scope="module")
def alloc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alloc]:
    tmp = tmp_path_factory.mktemp("corpus")
    root = tmp / "abc"
    (tmp / "out").write_text("outside")
    (tmp / "outdir").mkdir()
    (tmp / "abcX").mkdir()
    (tmp / "abcX" / "secret").write_text("sibling")
    for rel, data in {
        "file": "hello",
        "dir/sub/f": "deep",
        "web/local/file.txt": "local",
        "web/secrets/token": "s3cr3t",
        "alloc/logs/web.stdout.0": "log",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(data)
    os.mkfifo(root / "fifo")
    (root / os.fsdecode(b"caf\xe9")).write_text("non-utf8")
    root_real = os.path.realpath(root)
    for name, target in _links(root_real, os.path.realpath(tmp)).items():
        os.symlink(target, root / name)
    _chain(root, "l40", 40)
    _chain(root, "l41", 41)
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    yield Alloc(str(root), root_real, fd)
    os.close(fd)


Expected = str | tuple[type[OSError], int]


def err(exc_type: type[OSError], code: int) -> tuple[type[OSError], int]:
    return (exc_type, code)


ENOENT = err(FileNotFoundError, errno.ENOENT)
ENOTDIR = err(NotADirectoryError, errno.ENOTDIR)
ELOOP = err(OSError, errno.ELOOP)
ENAMETOOLONG = err(OSError, errno.ENAMETOOLONG)
CAFE = os.fsdecode(b"caf\xe9")

# (rel, flags, expected): expected is the resolved alloc-relative path, ESCAPE, or (type, errno).
CORPUS: dict[str, tuple[str, int, Expected]] = {
    "root": ("", os.O_RDONLY | os.O_DIRECTORY, ""),
    "root-opath": ("", os.O_PATH, ""),
    "file": ("file", RO, "file"),
    "deep-file": ("dir/sub/f", RO, "dir/sub/f"),
    "dir-o-directory": ("dir", os.O_RDONLY | os.O_DIRECTORY, "dir"),
    "dir-o-path": ("dir", os.O_PATH, "dir"),
    "fifo": ("fifo", RO, "fifo"),
    "link-to-etc": ("to_etc", RO, ESCAPE),
    "through-link-to-etc": ("to_etc/passwd", RO, ESCAPE),
    "link-to-passwd": ("to_passwd", RO, ESCAPE),
    "link-to-slash": ("to_slash", os.O_PATH, ESCAPE),
    "abs-link-inside": ("abs_file", RO, "file"),
    "abs-link-root": ("abs_root", os.O_RDONLY | os.O_DIRECTORY, ""),
    "abs-link-root-then-path": ("abs_root/dir/sub/f", RO, "dir/sub/f"),
    "abs-link-root-slash": ("abs_root_slash/file", RO, "file"),
    "abs-link-dotdot-above-root": ("abs_dotdot", RO, ESCAPE),
    "abs-link-sibling-prefix": ("abs_sibling", RO, ESCAPE),
    "abs-link-sibling-dir": ("abs_sibling_dir/secret", RO, ESCAPE),
    "abs-link-other-case": ("abs_upper", RO, ESCAPE),
    "abs-link-dangling-inside": ("abs_dangling_in", RO, ENOENT),
    "abs-link-dangling-outside": ("abs_dangling_out", RO, ESCAPE),
    "abs-link-outside-dir": ("outside_dir", os.O_PATH, ESCAPE),
    "rel-link-out": ("rel_out", RO, ESCAPE),
    "rel-link-out-and-back-in": ("rel_out_back_in", RO, ESCAPE),
    "rel-link-dotdot-inside": ("rel_in", RO, "file"),
    "nested-link-up-inside": ("dir/sub/up2", RO, "file"),
    "nested-link-up-outside": ("dir/sub/up3", RO, ESCAPE),
    "link-dir-then-children": ("dir/sub/back/local/file.txt", RO, "web/local/file.txt"),
    "dot-components-in-target": ("dotted", RO, "dir/sub/f"),
    "chain-escapes-in-middle": ("esc_a", RO, ESCAPE),
    "link-loop": ("loop_a", RO, ELOOP),
    "self-loop": ("self_loop", RO, ELOOP),
    "chain-of-40-links": ("l40_0", RO, "file"),
    "chain-of-41-links": ("l41_0", RO, ELOOP),
    "dangling-link": ("dangling", RO, ENOENT),
    "missing": ("nope", RO, ENOENT),
    "missing-parent": ("nope/x", RO, ENOENT),
    "through-regular-file": ("file/x", RO, ENOTDIR),
    "link-target-file-slash": ("file_slash", RO, ENOTDIR),
    "link-target-file-dot": ("file_dot", RO, ENOTDIR),
    "o-directory-on-file": ("file", os.O_RDONLY | os.O_DIRECTORY, ENOTDIR),
    "dir-link-then-children": ("dirlink/sub/f", RO, "dir/sub/f"),
    "dir-link-itself": ("dirlink", os.O_RDONLY | os.O_DIRECTORY, "dir"),
    "proc-magic-link": ("proc_fd", RO, ESCAPE),
    "proc-root": ("proc_root/etc/passwd", RO, ESCAPE),
    "link-into-secrets": ("peek", RO, "web/secrets/token"),
    "name-too-long": ("x" * 256, RO, ENAMETOOLONG),
    "path-too-long": ("a/" * 2048 + "a", RO, ENAMETOOLONG),
    "path-just-short-enough": ("a/" * 2047 + "a", RO, ENOENT),
    "link-target-name-too-long": ("longcomp", RO, ENAMETOOLONG),
    "non-utf8-name": (CAFE, RO, CAFE),
    "non-utf8-link-target": ("tocafe", RO, CAFE),
    "log-dir-link-up-inside": ("alloc/logs/up", RO, "web/local/file.txt"),
    "dotdot-in-rel-above-root": ("dir/../..", RO, ESCAPE),
    "dotdot-in-rel-inside": ("dir/../file", RO, "file"),
    "leading-slash-is-not-absolute": ("/etc/passwd", RO, ENOENT),
    "write-on-directory": ("dir", os.O_WRONLY, err(IsADirectoryError, errno.EISDIR)),
}


def _assert_outcome(alloc: Alloc, opener: Opener, rel: str, flags: int, expected: Expected) -> None:
    if isinstance(expected, tuple):
        exc_type, code = expected
    elif expected == ESCAPE:
        exc_type, code = PathEscapesError, errno.EXDEV
    else:
        fd, resolved = opener(alloc.root_fd, alloc.root_real, rel, flags)
        try:
            assert resolved == expected
            got = os.fstat(fd)
            want = os.lstat(os.path.join(alloc.root, expected) if expected else alloc.root)
            assert (got.st_dev, got.st_ino) == (want.st_dev, want.st_ino)
            assert not os.get_inheritable(fd), "fd must be O_CLOEXEC"
        finally:
            os.close(fd)
        return
    with pytest.raises(OSError) as info:
        opener(alloc.root_fd, alloc.root_real, rel, flags)
    exc = info.value
    assert type(exc) is exc_type
    assert exc.errno == code
    # Only the user's alloc-relative path may appear, never the host path (Nomad's messages include it).
    assert exc.filename == rel
    assert alloc.root_real not in str(exc)
    if expected == ESCAPE:
        assert str(exc) == ESCAPE_MESSAGE


@pytest.mark.parametrize("case", list(CORPUS))
def test_hostile_corpus(alloc: Alloc, opener: Opener, case: str) -> None:
    rel, flags, expected = CORPUS[case]
    _assert_outcome(alloc, opener, rel, flags, expected)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


def test_fifo_is_returned_as_a_fifo(alloc: Alloc, opener: Opener) -> None:
    fd, _ = opener(alloc.root_fd, alloc.root_real, "fifo", RO)
    try:
        assert stat.S_ISFIFO(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def test_directory_fd_can_be_listed(alloc: Alloc, opener: Opener) -> None:
    fd, resolved = opener(alloc.root_fd, alloc.root_real, "dirlink/sub", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert resolved == "dir/sub"
        assert sorted(os.listdir(fd)) == ["back", "f", "up2", "up3"]
    finally:
        os.close(fd)


def test_nul_byte_is_a_value_error(alloc: Alloc, opener: Opener) -> None:
    with pytest.raises(ValueError):
        opener(alloc.root_fd, alloc.root_real, "fi\x00le", RO)


@pytest.mark.parametrize("flags", [os.O_CREAT | os.O_WRONLY, os.O_NOFOLLOW, os.O_TMPFILE | os.O_RDWR])
def test_refused_flags(alloc: Alloc, opener: Opener, flags: int) -> None:
    with pytest.raises(ValueError):
        opener(alloc.root_fd, alloc.root_real, "file", flags)


def test_bad_root_fd_is_ebadf(alloc: Alloc, opener: Opener) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as info:
        opener(r, alloc.root_real, "file", RO)
    assert info.value.errno == errno.EBADF


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses directory permissions")
def test_permission_denied_names_only_the_user_path(tmp_path: Path, opener: Opener) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "f").write_text("x")
    os.chmod(tmp_path / "locked", 0)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with pytest.raises(PermissionError) as info:
            opener(fd, os.path.realpath(tmp_path), "locked/f", RO)
        assert info.value.errno == errno.EACCES
        assert info.value.filename == "locked/f"
    finally:
        os.close(fd)
        os.chmod(tmp_path / "locked", 0o755)


def test_link_swapped_between_two_opens(tmp_path: Path, opener: Opener) -> None:
    root = tmp_path / "abc"
    root.mkdir()
    (root / "file").write_text("hello")
    os.symlink("file", root / "swap")
    root_real = os.path.realpath(root)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd, resolved = opener(root_fd, root_real, "swap", RO)
        try:
            os.symlink("/etc/passwd", root / "swap.new")
            os.replace(root / "swap.new", root / "swap")
            with pytest.raises(PathEscapesError):
                opener(root_fd, root_real, "swap", RO)
            # The first descriptor still holds the object that was checked.
            assert resolved == "file"
            assert os.pread(fd, 100, 0) == b"hello"
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)


def test_swap_race_never_opens_outside(tmp_path: Path, opener: Opener) -> None:
    """A task flips a path component between an inside dir and /etc while we open through it."""
    root = tmp_path / "abc"
    (root / "inside").mkdir(parents=True)
    (root / "inside" / "passwd").write_text("inside")
    os.symlink("inside", root / "d")
    root_real = os.path.realpath(root)
    host = os.stat("/etc/passwd")
    targets = ("inside", "/etc")
    stop = threading.Event()

    def flip() -> None:
        i = 0
        while not stop.is_set():
            tmp_name = root / f".flip{i % 2}"
            os.symlink(targets[i % 2], tmp_name)
            os.replace(tmp_name, root / "d")
            i += 1

    flipper = threading.Thread(target=flip, daemon=True)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    seen = {"ok": 0, "escape": 0}
    try:
        flipper.start()
        for _ in range(1500):
            try:
                fd, resolved = opener(root_fd, root_real, "d/passwd", RO)
            except PathEscapesError:
                seen["escape"] += 1
                continue
            try:
                st_fd = os.fstat(fd)
                assert (st_fd.st_dev, st_fd.st_ino) != (host.st_dev, host.st_ino)
                assert resolved == "inside/passwd"
                assert os.pread(fd, 100, 0) == b"inside"
                seen["ok"] += 1
            finally:
                os.close(fd)
    finally:
        stop.set()
        flipper.join()
        os.close(root_fd)
    assert seen["ok"] + seen["escape"] == 1500


def test_native_probe_reports_a_bool() -> None:
    native = pick(IMPLEMENTATIONS, "native", "safe_open")
    assert native.openat2_available() in (True, False)
    assert native.openat2_available() is native.openat2_available()


def test_selector_wrapper_uses_an_implementation(alloc: Alloc) -> None:
    fd, resolved = safe_open.open_beneath(alloc.root_fd, alloc.root_real, "rel_in")
    os.close(fd)
    assert resolved == "file"
    assert safe_open._active in IMPLEMENTATIONS.values()


# ---------------------------------------------------------------- is_secret_path


@pytest.mark.parametrize(
    ("resolved", "kind"),
    [
        ("web/secrets", "secret"),
        ("web/secrets/token", "secret"),
        ("web/secrets/a/b", "secret"),
        ("api/private", "private"),
        ("api/private/key", "private"),
        ("web/secretsX", None),
        ("web/secretsX/token", None),
        ("web/Secrets/token", None),
        ("web/local/secrets", None),
        ("alloc/secrets/x", None),
        ("alloc/private", None),
        ("secrets/x", None),
        ("web", None),
        ("", None),
        ("web/privateer", None),
    ],
)
def test_is_secret_path(resolved: str, kind: str | None) -> None:
    assert is_secret_path(resolved) == kind


# ---------------------------------------------------------------- random trees

NAMES = ("a", "b", "c")
FLAGS = (RO, os.O_PATH, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK)

# Linux cannot store an empty symlink target, so "" is left out.
rel_targets = (
    st.lists(st.sampled_from((*NAMES, "..", ".", "")), min_size=1, max_size=4).map("/".join).filter(bool)
)
targets = st.one_of(
    rel_targets.map(lambda t: ("rel", t)),
    st.tuples(st.sampled_from(("in", "sibling")), rel_targets),
    st.sampled_from((("root", ""), ("etc", ""), ("outside", ""))),
)
entries = st.lists(
    st.tuples(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
        st.sampled_from(("file", "dir", "link", "link", "link", "fifo")),
        targets,
    ),
    max_size=10,
)
queries = st.lists(
    st.tuples(st.lists(st.sampled_from(NAMES), max_size=4).map("/".join), st.sampled_from(FLAGS)),
    min_size=1,
    max_size=5,
)


def _link_target(kind: str, text: str, root_real: str, tmp: str) -> str:
    return {
        "rel": text,
        "in": f"{root_real}/{text}",
        "sibling": f"{root_real}X/{text}",
        "root": root_real,
        "etc": "/etc",
        "outside": f"{tmp}/out",
    }[kind]


def _build(root: str, root_real: str, tmp: str, spec: list[tuple[list[str], str, tuple[str, str]]]) -> None:
    """Create the drawn entries, never writing through a symlink (a link may point at /etc)."""
    for parts, kind, (tkind, text) in spec:
        parent = root
        for part in parts[:-1]:
            parent = os.path.join(parent, part)
            try:
                if not stat.S_ISDIR(os.lstat(parent).st_mode):
                    break
            except FileNotFoundError:
                os.mkdir(parent)
        else:
            path = os.path.join(parent, parts[-1])
            if os.path.lexists(path):
                continue
            if kind == "file":
                Path(path).write_text(path)
            elif kind == "dir":
                os.mkdir(path)
            elif kind == "fifo":
                os.mkfifo(path)
            else:
                os.symlink(_link_target(tkind, text, root_real, tmp), path)


def _model(root: str, root_real: str, rel: str, flags: int) -> tuple[object, ...]:
    """The resolution rules restated over path strings with lstat/readlink: an oracle, not an opener."""
    prefix = os.fsencode(root_real)
    pending = os.fsencode(rel).split(b"/")[::-1]
    names: list[bytes] = []
    links = 0
    while pending:
        name = pending.pop()
        if name in (b"", b"."):
            continue
        if name == b"..":
            if not names:
                return ("err", PathEscapesError, errno.EXDEV)
            names.pop()
            continue
        path = os.path.join(os.fsencode(root), *names, name)
        try:
            mode = os.lstat(path).st_mode
        except OSError as exc:
            return ("err", type(exc), exc.errno)
        if stat.S_ISLNK(mode):
            links += 1
            if links > 40:
                return ("err", OSError, errno.ELOOP)
            target = os.readlink(path)
            if target.startswith(b"/"):
                if target != prefix and not target.startswith(prefix + b"/"):
                    return ("err", PathEscapesError, errno.EXDEV)
                names = []
                target = target[len(prefix) :]
            pending.extend(reversed(target.split(b"/")))
            continue
        if pending and not stat.S_ISDIR(mode):
            return ("err", NotADirectoryError, errno.ENOTDIR)
        names.append(name)
    final = os.lstat(os.path.join(os.fsencode(root), *names)).st_mode
    if flags & os.O_DIRECTORY and not stat.S_ISDIR(final):
        return ("err", NotADirectoryError, errno.ENOTDIR)
    return ("ok", os.fsdecode(b"/".join(names)))


def _run(opener: Opener, root_fd: int, root: str, root_real: str, rel: str, flags: int) -> tuple[object, ...]:
    try:
        fd, resolved = opener(root_fd, root_real, rel, flags)
    except OSError as exc:
        assert exc.filename == rel
        return ("err", type(exc), exc.errno)
    try:
        got = os.fstat(fd)
    finally:
        os.close(fd)
    want = os.lstat(os.path.join(root, resolved) if resolved else root)
    assert (got.st_dev, got.st_ino) == (want.st_dev, want.st_ino), (
        "fd is not the object named by resolved_rel"
    )
    return ("ok", resolved)


@HYPOTHESIS
@given(spec=entries, cases=queries)
def test_twins_and_model_agree_on_random_trees(
    spec: list[tuple[list[str], str, tuple[str, str]]], cases: list[tuple[str, int]]
) -> None:
    openers = _available_openers()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = os.path.realpath(tmp_dir)
        root = os.path.join(tmp, "abc")
        os.mkdir(root)
        os.mkdir(root + "X")
        Path(tmp, "abcX", "a").write_text("sibling")
        Path(tmp, "out").write_text("outside")
        _build(root, root, tmp, spec)
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for rel, flags in cases:
                before = _fds()
                expected = _model(root, root, rel, flags)
                event(expected[1].__name__ if expected[0] == "err" else "ok")  # type: ignore[attr-defined]
                for name, fn in openers.items():
                    assert _run(fn, root_fd, root, root, rel, flags) == expected, (name, rel, flags)
                assert _fds() == before
        finally:
            os.close(root_fd)
