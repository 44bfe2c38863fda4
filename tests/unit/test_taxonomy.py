from __future__ import annotations

from knowledge.taxonomy import Taxonomy, skill_key, slugify


def test_skill_key_ignores_case_parentheses_and_ampersand():
    assert skill_key("Python (computer programming)") == "python"
    assert skill_key("  Microsoft   EXCEL ") == "microsoft excel"
    assert skill_key("Research & Development") == "research and development"


def test_slugify_keeps_symbols_meaningful():
    assert slugify("C++") == "cplusplus"
    assert slugify("C#") == "csharp"
    assert slugify("Node.js") == "node-js"


def test_duplicates_merge_and_keep_source_ids():
    tax = Taxonomy()
    a = tax.add("Microsoft Excel", "technology", "onet_technology", "onet-tech:1")
    tax.alias(a, "Excel")
    b = tax.add("microsoft excel", "technology", "esco", "http://esco/1")
    assert a is b
    assert a.source_ids == ["onet-tech:1", "http://esco/1"]
    assert tax.lookup("EXCEL") is a


def test_alias_never_steals_another_skill():
    tax = Taxonomy()
    java = tax.add("Java", "technology", "stackwise", "x")
    js = tax.add("JavaScript", "technology", "stackwise", "y")
    tax.alias(js, "JS")
    tax.alias(js, "Java")  # a wrong alias must not re-point "java"
    assert tax.lookup("java") is java


def test_real_taxonomy_is_large_and_merged(settings):
    from knowledge.build import load_taxonomy

    tax = load_taxonomy(settings)
    assert len(tax) >= 10_000
    excel = tax.lookup("MS Excel")
    assert excel is not None and excel is tax.lookup("Microsoft Excel") is tax.lookup("excel")
    assert any(s.startswith("onet-tech:") for s in excel.source_ids)
    python = tax.lookup("Python")
    assert python is tax.lookup("Python (computer programming)")
    assert any(s.startswith("http") for s in python.source_ids), "ESCO id kept on the merged skill"
