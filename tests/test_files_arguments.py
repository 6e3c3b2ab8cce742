"""ioring.files and ioring._fileops refuse arguments of the wrong shape with a TypeError that
says what to pass, before anything touches the filesystem (a str where a sequence of paths is
expected used to be read as one path per character)."""
import os
import pathlib

import pytest

import ioring.files as F
from ioring import _fileops


@pytest.mark.parametrize("single", ["a/path", b"a/path", pathlib.Path("a/path")])
def test_read_files_refuses_a_single_path(tmp_path, monkeypatch, single):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").write_bytes(b"a file named like the path's first character")
    with pytest.raises(TypeError, match=r"read_files\(\) takes a sequence of paths, not a "
                                        r"single (str|bytes|PosixPath) path: pass \["):
        F.read_files(single)


def test_read_files_names_what_is_wrong():
    with pytest.raises(TypeError, match=r"read_files\(\) takes a sequence of paths \(str, "
                                        r"bytes or os.PathLike\), not int"):
        F.read_files(42)
    with pytest.raises(TypeError, match=r"read_files\(\): path 1 is a int; expected str, "
                                        r"bytes or os.PathLike"):
        F.read_files(["ok", 7])


def test_write_files_refuses_what_is_not_path_data_pairs(tmp_path):
    p = str(tmp_path / "f")
    with pytest.raises(TypeError, match=r"write_files\(\) takes a mapping \{path: data\} or an "
                                        r"iterable of \(path, data\) pairs, not a single str"):
        F.write_files(p)
    with pytest.raises(TypeError, match=r"not a single bytes"):
        F.write_files(os.fsencode(p))
    with pytest.raises(TypeError, match=r"not a single PosixPath"):
        F.write_files(tmp_path / "f")
    with pytest.raises(TypeError, match=r"write_files\(\) takes a mapping .*, not int"):
        F.write_files(42)
    # strings of two characters would have made a dict {first char: second char}
    with pytest.raises(TypeError, match=r"write_files\(\): item 0 is 'ab', not a \(path, data\) "
                                        r"pair; pass a mapping"):
        F.write_files(["ab", "cd"])
    with pytest.raises(TypeError, match=r"item 1 is .*, not a \(path, data\) pair"):
        F.write_files([(p, b"x"), (p, b"x", 0o644)])
    with pytest.raises(TypeError, match=r"write_files\(\): the path of item 0 is a int; "
                                        r"expected str, bytes or os.PathLike"):
        F.write_files([(3, b"x")])
    with pytest.raises(TypeError, match=r"write_files\(\): the data for '.*f' is a str; pass "
                                        r"bytes \(e.g. text.encode\(\)\)"):
        F.write_files({p: "text"})
    with pytest.raises(TypeError, match=r"the data for .* is a str"):
        F.write_files([(p, b"bytes"), (p + "2", "text")])
    assert not any(tmp_path.iterdir())                      # nothing was written


def test_fileops_refuse_a_single_path_or_datum(tmp_path):
    with pytest.raises(TypeError, match=r"paths must be a sequence of bytes paths, not a "
                                        r"single bytes: pass \[path\]"):
        _fileops.read_chains(os.fsencode(tmp_path / "f"))
    for fn in (_fileops.write_pipelined, _fileops.write_plain):
        with pytest.raises(TypeError, match=r"not a single str"):
            fn("abc", [b"x"], -100, 0o644, os.O_WRONLY | os.O_CREAT)
        with pytest.raises(TypeError, match=r"datas must be a sequence of buffers \(one per "
                                            r"path\), not a single bytes"):
            fn([os.fsencode(tmp_path / "f")], b"x", -100, 0o644, os.O_WRONLY | os.O_CREAT)
    assert not any(tmp_path.iterdir())
