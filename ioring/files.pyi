"""Type stubs for ioring.files: whole-file reads and writes, copy, zip extraction and wheel
installation over io_uring."""
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, BinaryIO, Optional, TypeVar, Union

from typing_extensions import Buffer

__all__ = ["read_files", "write_files", "copy_file", "copytree", "extract_zip", "install_wheel"]

_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
_P = TypeVar("_P", str, bytes)
_K = TypeVar("_K", bound=_Path)  # Mapping is invariant in its key type
_Q = TypeVar("_Q", bound=_Path)
_Progress = Callable[[int, int], object]

def read_files(paths: Iterable[_Path]) -> list[bytes]: ...
def write_files(files: Union[Mapping[_K, Buffer], Iterable[tuple[_Path, Buffer]]], *, mode: int = ...,
                fsync: bool = ..., makedirs: bool = ...) -> int: ...
def copy_file(src: _Path, dst: Union[_P, os.PathLike[_P]], *, chunk_size: int = ..., queue_depth: int = ...,
              progress: Optional[_Progress] = ...) -> _P: ...
def copytree(src: _Path, dst: _Q, *, symlinks: bool = ..., dirs_exist_ok: bool = ...,
             ignore: Optional[Callable[[Any, list[Any]], Iterable[Any]]] = ...,
             progress: Optional[_Progress] = ...) -> _Q: ...
def extract_zip(archive: Union[_Path, BinaryIO], dest: _Path, *, progress: Optional[_Progress] = ...,
                max_ratio: Optional[float] = ..., threads: Optional[int] = ...) -> list[str]: ...
def install_wheel(wheel: Union[_Path, BinaryIO], target: _Path, *,
                  interpreter: Optional[Union[str, os.PathLike[str]]] = ..., installer: str = ...,
                  requested: bool = ..., direct_url: bool = ..., compile_bytecode: bool = ...,
                  verify_record: bool = ..., progress: Optional[_Progress] = ...,
                  max_ratio: Optional[float] = ..., threads: Optional[int] = ...) -> list[str]: ...
