import typing

from tailsynth.signatures import (
    REWRITE_LABELS,
    YES_NO,
    MultiRewrite,
    ProductRelevance,
    QuerySemanticRelevance,
    RewriteRelevance,
)


def test_fields_and_label_sets():
    assert list(MultiRewrite.input_fields) == ["query"]
    assert typing.get_origin(MultiRewrite.output_fields["rewrites"].annotation) is list
    assert typing.get_args(RewriteRelevance.output_fields["label"].annotation) == REWRITE_LABELS
    assert typing.get_args(ProductRelevance.output_fields["answer"].annotation) == YES_NO
    assert typing.get_args(QuerySemanticRelevance.output_fields["answer"].annotation) == YES_NO


def test_filters_state_the_conservative_policy():
    assert "conservative" in RewriteRelevance.instructions.lower()
    assert "no only if" in ProductRelevance.instructions.lower()
