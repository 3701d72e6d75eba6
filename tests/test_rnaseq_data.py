"""RNA-seq data layer pipeline steps: Beat AML / HumanBase parsers on miniature files, preprocessing step table,
patient splits, the gene set GMT (offline)."""

from __future__ import annotations

import gzip
import json
import socket

import numpy as np
import pandas as pd
import pytest

from attrpriors.data.annotation import exon_lengths
from attrpriors.data.beataml import (
    assemble_beataml,
    random_graph_like,
    read_beataml_counts,
    read_drug_response,
    read_humanbase,
)
from attrpriors.enrichment import load_gene_sets, read_gmt
from attrpriors.experiments import rnaseq_data
from attrpriors.io import load_npz


# ------------------------------------------------------------------------------------ Beat AML miniature files
@pytest.fixture
def beat_files(tmp_path):
    counts = pd.DataFrame(
        {
            "stable_id": ["ENSG01.3", "ENSG02.1", "ENSG03.1", "ENSG04.2", "ENSG05.1"],
            "display_label": ["TP53", "FLT3", "NPM1", "FLT3", "LINC1"],
            "description": ["", "", "", "", ""],
            "biotype": ["protein_coding", "protein_coding", "protein_coding", "protein_coding", "lncRNA"],
            "BA1R": [10, 50, 3, 1, 0],
            "BA2R": [12, 40, 5, 2, 1],
            "BA3R": [9, 70, 4, 0, 2],
            "BA4R": [11, 20, 6, 3, 0],
        }
    )
    counts.to_csv(tmp_path / "counts.txt", sep="\t", index=False)
    resp = pd.DataFrame(
        {
            "dbgap_subject_id": ["S1", "S1", "S2", "S2", "S3", "S1", "S4"],
            "dbgap_rnaseq_sample": ["BA1R", "BA1R", "BA2R", "BA2R", "BA3R", "BA4R", "BA4R"],
            "inhibitor": ["DrugA", "DrugB", "DrugA", "DrugB", "DrugA", "DrugA", "DrugA"],
            "ic50": [1.0, 10.0, 0.1, -1.0, 100.0, 3.0, 5.0],
            "auc": [100, 200, 50, 60, 250, 150, 170],
        }
    )
    resp.to_csv(tmp_path / "probit.txt", sep="\t", index=False)
    gtf = [
        "#!genome-build GRCh38",
        'chr1\tens\tgene\t1\t500\t.\t+\t.\tgene_id "ENSG01.3";',
        'chr1\tens\texon\t1\t100\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T1";',
        'chr1\tens\texon\t51\t150\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T2";',  # overlaps: union 1-150
        'chr1\tens\texon\t301\t400\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "T2";',
        'chr1\tens\texon\t1\t1000\t.\t+\t.\tgene_id "ENSG02.1"; transcript_id "T3";',
        'chr1\tens\texon\t1\t200\t.\t+\t.\tgene_id "ENSG03.1"; transcript_id "T4";',
        'chr1\tens\texon\t1\t300\t.\t+\t.\tgene_id "ENSG04.2"; transcript_id "T5";',
    ]
    with gzip.open(tmp_path / "genes.gtf.gz", "wt") as fh:
        fh.write("\n".join(gtf) + "\n")
    with gzip.open(tmp_path / "net.gz", "wt") as fh:
        fh.write("7157\t2322\t0.5\n2322\t7157\t0.6\n7157\t4869\t0.05\n4869\t2322\t0.2\n999\t7157\t0.9\n")
    pd.DataFrame(
        {"symbol": ["TP53", "FLT3", "NPM1", "OTHER"], "entrez_id": ["7157", "2322", "4869", "999"],
         "ensembl_gene_id": ["ENSG01", "ENSG02", "ENSG03", "ENSG99"]}
    ).to_csv(tmp_path / "hgnc.txt", sep="\t", index=False)
    return tmp_path


def test_counts_reader_strips_versions_and_transposes(beat_files):
    counts, genes = read_beataml_counts(beat_files / "counts.txt")
    assert counts.shape == (4, 5)
    assert list(counts.columns[:2]) == ["ENSG01", "ENSG02"]
    assert counts.loc["BA3R", "ENSG02"] == 70
    assert genes.set_index("ensembl").loc["ENSG05", "biotype"] == "lncRNA"


def test_drug_response_reader_logs_ic50_and_drops_bad_values(beat_files):
    r = read_drug_response(beat_files / "probit.txt")
    assert np.isclose(r.query("sample == 'BA1R' and drug == 'DrugB'")["response"].item(), 1.0)
    assert r.query("sample == 'BA2R' and drug == 'DrugB'").empty  # negative IC50 dropped
    auc = read_drug_response(beat_files / "probit.txt", "auc")
    assert auc.query("sample == 'BA3R'")["response"].item() == 250
    with pytest.raises(ValueError, match="unknown drug response"):
        read_drug_response(beat_files / "probit.txt", "gi50")


def test_gtf_union_exon_length(beat_files):
    lengths = exon_lengths(beat_files / "genes.gtf.gz", strip_versions=True)
    assert lengths["ENSG01"] == 150 + 100  # [1, 150] ∪ [301, 400]
    assert lengths["ENSG02"] == 1000


def test_humanbase_reader_thresholds_and_dedups(beat_files):
    net = read_humanbase(beat_files / "net.gz", min_posterior=0.1)
    pairs = set(zip(net["entrez_a"], net["entrez_b"]))
    assert ("2322", "7157") in pairs and ("2322", "4869") in pairs
    assert ("4869", "7157") not in pairs  # posterior 0.05 < 0.1
    assert net.set_index(["entrez_a", "entrez_b"]).loc[("2322", "7157"), "weight"] == 0.6


def test_assemble_beataml_one_patient_per_row_with_lengths_and_graph(beat_files):
    batch = pd.Series({"BA1R": "w12", "BA2R": "w12", "BA3R": "w34", "BA4R": "w34"})
    d = assemble_beataml(beat_files / "counts.txt", beat_files / "probit.txt", batch, beat_files / "net.gz",
                         beat_files / "genes.gtf.gz", beat_files / "hgnc.txt", min_patients_per_drug=2)
    # S1 has two samples: BA1R (2 fits) is kept over BA4R (1 fit); DrugB is measured in one patient only
    assert sorted(d.samples["patient"]) == ["S1", "S2", "S3", "S4"]
    assert d.samples.set_index("patient").loc["S1", "rnaseq_sample"] == "BA1R"
    assert set(d.response["drug"]) == {"DrugA"}
    # FLT3 appears twice: the Ensembl gene with more reads (ENSG02) is kept; the lncRNA has no GTF length
    assert set(d.genes["gene"]) == {"TP53", "FLT3", "NPM1"}
    assert d.genes.set_index("gene").loc["FLT3", "ensembl"] == "ENSG02"
    assert not d.genes["is_coding"].eq(False).any()
    assert d.counts.loc["S3", "FLT3"] == 70
    edges = set(zip(d.graph_edges["gene_a"], d.graph_edges["gene_b"]))
    assert edges == {("FLT3", "TP53"), ("FLT3", "NPM1")}


def test_random_graph_like_keeps_edge_count_and_weights():
    edges = pd.DataFrame({"gene_a": ["a", "b", "c"], "gene_b": ["b", "c", "d"], "weight": [0.2, 0.5, 0.9]})
    rnd = random_graph_like(edges, list("abcdefgh"), seed=3)
    assert len(rnd) == 3
    assert (rnd["gene_a"] != rnd["gene_b"]).all()
    assert len(set(map(frozenset, zip(rnd["gene_a"], rnd["gene_b"])))) == 3
    assert sorted(rnd["weight"]) == [0.2, 0.5, 0.9]
    pd.testing.assert_frame_equal(rnd, random_graph_like(edges, list("abcdefgh"), seed=3))


# ----------------------------------------------------------------------------------------- pipeline steps
@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    d = tmp_path_factory.mktemp("rnaseq")
    params = dict(n_patients=40, n_drugs=3, n_genes=500, n_pathways=5, n_driving_pathways=2, pathways_per_drug=1,
                  n_batches=2, nondriving_pathway_degree=2)
    rnaseq_data.simulate(params, 0, str(d / "data"))
    rnaseq_data.preprocess(str(d / "data"), {}, str(d / "expression.npz"), str(d / "steps.csv"))
    return d


def test_simulated_data_directory_has_every_documented_file(simulated):
    names = {p.name for p in (simulated / "data").iterdir()}
    assert set(rnaseq_data.CORE_FILES) | set(rnaseq_data.TRUTH_FILES) <= names


def test_preprocess_writes_model_ready_matrix_and_step_table(simulated):
    e = load_npz(simulated / "expression.npz", ("X", "genes", "patients", "batch"))
    assert e["X"].shape == (40, len(e["genes"])) and e["X"].dtype == np.float32
    assert np.isfinite(e["X"]).all()
    steps = pd.read_csv(simulated / "steps.csv")
    assert list(steps["step"])[:3] == ["input", "fpkm", "protein_coding"]
    assert steps["n_genes_out"].iloc[-1] == len(e["genes"])
    note = steps.set_index("step").loc["combat", "note"]
    before, after = map(float, note.split("batch silhouette ")[1].split(" -> "))
    assert after < before  # ComBat lowers the batch silhouette


def test_splits_are_by_patient_disjoint_and_seeded(simulated):
    outs = [str(simulated / f"split{i}.json") for i in range(3)]
    rnaseq_data.make_splits(str(simulated / "expression.npz"), {"test": 0.2, "val": 0.2}, 0, outs)
    docs = [json.loads(open(o).read()) for o in outs]
    patients = set(load_npz(simulated / "expression.npz", ("patients",))["patients"].astype(str))
    for d in docs:
        parts = [set(d[k]) for k in ("train", "val", "test")]
        assert set.union(*parts) == patients and sum(map(len, parts)) == len(patients)
        assert len(d["test"]) == 8 and len(d["val"]) == 6
    assert docs[0]["test"] != docs[1]["test"]
    again = str(simulated / "again.json")
    rnaseq_data.make_splits(str(simulated / "expression.npz"), {"test": 0.2, "val": 0.2}, 0, [again])
    assert json.loads(open(again).read()) == docs[0]


def test_gene_set_library_is_written_offline(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    out = tmp_path / "KEGG.gmt"
    rnaseq_data.gene_set_library("bundled", "KEGG_2021_Human", None, str(out))
    assert read_gmt(out) == load_gene_sets("KEGG_2021_Human", source="bundled")
    again = tmp_path / "copy.gmt"
    rnaseq_data.gene_set_library("download", "KEGG_2019_Human", str(out), str(again))
    assert read_gmt(again) == read_gmt(out)
