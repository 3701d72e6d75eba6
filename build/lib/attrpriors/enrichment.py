"""Gene set libraries, GSEA prerank and over-representation analysis, all offline.

Gene set libraries come from one of two places:

* ``source="bundled"``: the Enrichr libraries that ship as GMT text files (without extension) inside the
  installed ``pyenrichr`` package (``KEGG_2021_Human``, ``WikiPathway_2023_Human``,
  ``GO_Biological_Process_2023``, ...). They are read directly; ``pyenrichr``'s own loader is never called
  because it would try to download a missing library.
* a path to a ``.gmt`` file, e.g. Enrichr's ``KEGG_2019_Human`` fetched by :mod:`attrpriors.data.download`.

Both analyses take gene sets as a ``dict`` only. gseapy treats any string that is not a ``.gmt`` path as an
Enrichr library *name* and fetches it from the web; accepting only dicts makes a silent network call
impossible.

Multiple testing: both :func:`gsea_prerank` and :func:`ora` report ``fdr_bh``, the Benjamini–Hochberg
adjustment of the nominal p-values computed here with ``statsmodels`` (``method="fdr_bh"``). gseapy's own
``FDR q-val`` is the GSEA-style FDR from the normalised-enrichment-score null distribution, *not* BH; it is
kept as ``fdr_gsea`` for reference.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "bundled_libraries",
    "load_gene_sets",
    "read_gmt",
    "write_gmt",
    "filter_gene_sets",
    "bh_fdr",
    "gsea_prerank",
    "ora",
]

GSEA_COLUMNS = [
    "term",
    "es",
    "nes",
    "pval",
    "fdr_bh",
    "fdr_gsea",
    "fwer",
    "set_size",
    "n_leading",
    "leading_genes",
]
ORA_COLUMNS = [
    "term",
    "overlap",
    "set_size",
    "query_size",
    "universe_size",
    "expected",
    "fold_enrichment",
    "pval",
    "fdr_bh",
    "overlap_genes",
]


def _bundled_dir() -> Path:
    # find_spec locates the package without importing it: importing pyenrichr runs network-capable code
    # and costs about a second.
    spec = importlib.util.find_spec("pyenrichr")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a declared dependency
        raise ModuleNotFoundError(
            "the bundled gene set libraries ship in the 'pyenrichr' package, which is not installed; "
            "install the project's dependencies or pass a path to a .gmt file as source"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def bundled_libraries() -> list[str]:
    """Names of the gene set libraries bundled in the installed ``pyenrichr`` package.

    Returns
    -------
    list of str
        Sorted library names (the file names in ``pyenrichr/data`` that look like GMT text).
    """
    data = _bundled_dir()
    return sorted(p.name for p in data.iterdir() if p.is_file() and "." not in p.name and not p.name.startswith("_"))


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Parse a GMT file (``term <TAB> description <TAB> gene <TAB> gene ...``) into a dict.

    Enrichr-style weights (``GENE,1.0``) are stripped, empty fields ignored and duplicate genes within a set
    dropped (first occurrence kept).

    Parameters
    ----------
    path : path-like
        GMT text file (any extension; Enrichr's bundled files have none).

    Returns
    -------
    dict of str to list of str
        Gene set name → genes, in file order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line has no term name or the file holds no gene set; the message names the file and line.
    """
    from .io import check_text_complete, corrupt_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"gene set file not found: {path}")
    try:
        text = check_text_complete(path, ".gmt gene set file").decode("utf-8")
    except UnicodeDecodeError as err:
        raise corrupt_file(path, ".gmt gene set file", f"UnicodeDecodeError: {err}") from err
    sets: dict[str, list[str]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\n\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        term = fields[0].strip()
        if not term:
            raise corrupt_file(path, ".gmt gene set file", f"line {lineno}: a gene set without a name")
        if len(fields) < 2:
            raise corrupt_file(path, ".gmt gene set file", f"line {lineno}: no tab-separated description/genes")
        genes = [g.split(",")[0].strip() for g in fields[2:]]
        genes = list(dict.fromkeys(g for g in genes if g))
        if term in sets:
            genes = list(dict.fromkeys(sets[term] + genes))
        sets[term] = genes
    if not sets:
        raise ValueError(f"{path}: no gene sets found (expected GMT lines: term<TAB>description<TAB>genes...)")
    return sets


def write_gmt(gene_sets: Mapping[str, Iterable[str]], path: str | os.PathLike) -> None:
    """Write gene sets as a GMT file atomically (empty description column)."""
    from .io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for term, genes in gene_sets.items():
                fh.write("\t".join([str(term), ""] + [str(g) for g in genes]) + "\n")


def load_gene_sets(name: str = "KEGG_2021_Human", source: str | os.PathLike = "bundled") -> dict[str, list[str]]:
    """Load a gene set library as a dict, without any network access.

    Parameters
    ----------
    name : str
        Library name, used when ``source == "bundled"`` (e.g. ``"KEGG_2021_Human"``).
    source : {"bundled"} or path-like
        ``"bundled"`` reads the GMT text shipped in ``pyenrichr/data/<name>``; anything else is a path to a
        GMT file (such as a downloaded Enrichr library).

    Returns
    -------
    dict of str to list of str
        Gene set name → gene symbols.

    Raises
    ------
    FileNotFoundError
        If the bundled library or the file does not exist; the message lists the bundled libraries.
    """
    if str(source) == "bundled":
        path = _bundled_dir() / name
        if not path.is_file():
            raise FileNotFoundError(
                f"gene set library {name!r} is not bundled (looked for {path}); bundled libraries: "
                f"{bundled_libraries()}. For another library download its GMT and pass source=<path to .gmt>"
            )
        return read_gmt(path)
    return read_gmt(source)


def filter_gene_sets(
    gene_sets: Mapping[str, Iterable[str]],
    universe: Iterable[str] | None = None,
    min_size: int = 1,
    max_size: int | None = None,
) -> dict[str, list[str]]:
    """Restrict gene sets to a universe and keep those with ``min_size <= size <= max_size``.

    Parameters
    ----------
    gene_sets : mapping
        Gene set name → genes.
    universe : iterable of str, optional
        Genes to keep; ``None`` keeps all.
    min_size, max_size : int
        Size bounds after restriction (inclusive); ``max_size=None`` means no upper bound.

    Returns
    -------
    dict of str to list of str
    """
    uni = None if universe is None else set(universe)
    out = {}
    for term, genes in gene_sets.items():
        g = list(dict.fromkeys(genes))
        if uni is not None:
            g = [x for x in g if x in uni]
        if len(g) >= min_size and (max_size is None or len(g) <= max_size):
            out[term] = g
    return out


def bh_fdr(pvals: Iterable[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (``statsmodels.multipletests(method="fdr_bh")``).

    NaN p-values are left NaN and excluded from the number of tests.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(list(pvals), dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out


def _check_gene_sets(gene_sets: object, where: str) -> dict[str, list[str]]:
    if isinstance(gene_sets, (str, os.PathLike)):
        raise TypeError(
            f"{where}: gene_sets must be a dict (got {type(gene_sets).__name__} {str(gene_sets)!r}); a string "
            "would make gseapy fetch an Enrichr library from the web. Load it first with "
            "attrpriors.enrichment.load_gene_sets(name, source='bundled' or a .gmt path)"
        )
    if not isinstance(gene_sets, Mapping):
        raise TypeError(f"{where}: gene_sets must be a dict of name -> genes, got {type(gene_sets).__name__}")
    return {str(k): [str(g) for g in v] for k, v in gene_sets.items()}


def gsea_prerank(
    scores: pd.Series,
    gene_sets: Mapping[str, Iterable[str]],
    permutations: int = 1000,
    seed: int = 0,
    min_size: int = 15,
    max_size: int = 500,
    threads: int = 1,
    weight: float = 1.0,
) -> pd.DataFrame:
    """Pre-ranked GSEA with gseapy on a dict of gene sets; BH-FDR computed here.

    Parameters
    ----------
    scores : pandas.Series
        One score per gene (index = gene symbols, unique, no NaN). Genes are ranked by decreasing score, so
        pass e.g. the mean absolute attribution to find sets concentrated among the most important genes.
    gene_sets : dict
        Gene set name → genes. Strings are refused (gseapy would fetch them from the web).
    permutations : int
        Number of gene-set permutations for the nominal p-value (smallest reachable p ≈ 1/permutations).
    seed : int
        Random seed for the permutations.
    min_size, max_size : int
        Bounds on the number of a set's genes present in ``scores``.
    threads : int
        Threads used by gseapy.
    weight : float
        GSEA weighting exponent of the running sum (1 = classic weighted GSEA).

    Returns
    -------
    pandas.DataFrame
        One row per tested set, columns ``term, es, nes, pval, fdr_bh, fdr_gsea, fwer, set_size, n_leading,
        leading_genes``, sorted by ``pval`` then decreasing ``|nes|``. ``pval`` is gseapy's nominal p-value
        floored at ``1/(permutations+1)`` (a permutation p-value is never exactly 0); ``fdr_bh`` is its
        Benjamini–Hochberg adjustment; ``fdr_gsea`` is gseapy's GSEA-style FDR (not BH).

    Raises
    ------
    TypeError
        If ``gene_sets`` is not a dict or ``scores`` not a Series.
    ValueError
        On NaN / duplicate genes in ``scores`` or when no gene set has between ``min_size`` and ``max_size``
        genes in the ranking.
    """
    import gseapy

    sets = _check_gene_sets(gene_sets, "gsea_prerank")
    if not isinstance(scores, pd.Series):
        raise TypeError(f"gsea_prerank: scores must be a pandas Series indexed by gene, got {type(scores).__name__}")
    scores = scores.astype(float)
    scores.index = scores.index.astype(str)
    if scores.index.has_duplicates:
        dup = scores.index[scores.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"gsea_prerank: duplicate genes in scores, e.g. {dup}")
    if scores.isna().any():
        bad = scores.index[scores.isna()][:5].tolist()
        raise ValueError(f"gsea_prerank: NaN scores for genes {bad}")
    tested = filter_gene_sets(sets, scores.index, min_size=min_size, max_size=max_size)
    if not tested:
        raise ValueError(
            f"gsea_prerank: no gene set has between {min_size} and {max_size} genes among the {len(scores)} "
            "ranked genes (check that gene identifiers match the library, e.g. symbols vs Ensembl ids)"
        )
    rnk = scores.sort_values(ascending=False)
    res = gseapy.prerank(
        rnk=rnk,
        gene_sets=tested,
        permutation_num=int(permutations),
        min_size=min_size,
        max_size=max_size,
        weight=weight,
        threads=threads,
        seed=int(seed),
        outdir=None,
        no_plot=True,
        verbose=False,
    ).res2d
    if res is None or len(res) == 0:
        return pd.DataFrame(columns=GSEA_COLUMNS)
    p_floor = 1.0 / (int(permutations) + 1)
    pval = np.maximum(res["NOM p-val"].astype(float).to_numpy(), p_floor)
    lead = res["Lead_genes"].fillna("").astype(str)
    out = pd.DataFrame(
        {
            "term": res["Term"].astype(str).to_numpy(),
            "es": res["ES"].astype(float).to_numpy(),
            "nes": res["NES"].astype(float).to_numpy(),
            "pval": pval,
            "fdr_bh": bh_fdr(pval),
            "fdr_gsea": res["FDR q-val"].astype(float).to_numpy(),
            "fwer": res["FWER p-val"].astype(float).to_numpy(),
            "set_size": [len(tested[t]) for t in res["Term"].astype(str)],
            "n_leading": [len([g for g in s.split(";") if g]) for s in lead],
            "leading_genes": lead.to_numpy(),
        }
    )
    order = np.lexsort((-np.abs(out["nes"].to_numpy()), out["pval"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def ora(
    genes: Iterable[str],
    universe: Iterable[str] | None,
    gene_sets: Mapping[str, Iterable[str]],
    min_size: int = 1,
    max_size: int | None = None,
) -> pd.DataFrame:
    """Over-representation analysis: one-sided hypergeometric test per gene set, BH-FDR.

    For a set S (restricted to the universe U) and query Q (restricted to U), the p-value is
    ``P[X >= |Q ∩ S|]`` with ``X ~ Hypergeometric(|U|, |S|, |Q|)`` (``scipy.stats.hypergeom.sf``), the test
    Enrichr's Fisher exact test performs.

    Parameters
    ----------
    genes : iterable of str
        Query genes (e.g. the top 200 genes of a prior).
    universe : iterable of str or None
        Background: every gene that could have been in the query (e.g. all genes measured). ``None`` uses the
        union of all gene sets and the query, as Enrichr does (usually anti-conservative: prefer the measured
        genes).
    gene_sets : dict
        Gene set name → genes. Strings are refused.
    min_size, max_size : int
        Bounds on a set's size within the universe.

    Returns
    -------
    pandas.DataFrame
        Columns ``term, overlap, set_size, query_size, universe_size, expected, fold_enrichment, pval, fdr_bh,
        overlap_genes`` sorted by ``pval``.

    Raises
    ------
    ValueError
        If no query gene is in the universe or no set passes the size bounds.
    """
    from scipy import stats

    sets = _check_gene_sets(gene_sets, "ora")
    query_all = list(dict.fromkeys(str(g) for g in genes))
    if universe is None:
        uni = set(query_all)
        for v in sets.values():
            uni.update(v)
    else:
        uni = set(str(g) for g in universe)
    query = [g for g in query_all if g in uni]
    if not query:
        raise ValueError(f"ora: none of the {len(query_all)} query genes is in the universe of {len(uni)} genes")
    tested = filter_gene_sets(sets, uni, min_size=min_size, max_size=max_size)
    if not tested:
        raise ValueError(f"ora: no gene set has between {min_size} and {max_size} genes in the universe")
    qset = set(query)
    M, N = len(uni), len(query)
    rows = []
    for term, members in tested.items():
        hits = [g for g in members if g in qset]
        n = len(members)
        k = len(hits)
        expected = n * N / M
        rows.append(
            (
                term,
                k,
                n,
                N,
                M,
                expected,
                k / expected if expected > 0 else np.nan,
                float(stats.hypergeom.sf(k - 1, M, n, N)),
                ";".join(sorted(hits)),
            )
        )
    out = pd.DataFrame(rows, columns=[c for c in ORA_COLUMNS if c != "fdr_bh"])
    out.insert(out.columns.get_loc("pval") + 1, "fdr_bh", bh_fdr(out["pval"]))
    return out.sort_values(["pval", "fold_enrichment"], ascending=[True, False], kind="stable").reset_index(drop=True)
