"""SynthesisConfig: per-filter LM overrides and parsing of optional sections from plain dicts."""

import pytest

from tailsynth.config import LMConfig, SynthesisConfig


def test_filters_share_the_general_lm_unless_overridden():
    config = SynthesisConfig(general=LMConfig(model="big"))
    assert config.rewrite_filter.model == "big" and config.relevance.model == "big"
    config = SynthesisConfig(general=LMConfig(model="big"), relevance_lm=LMConfig(model="clf-general"))
    assert config.rewrite_filter.model == "big" and config.relevance.model == "clf-general"
    assert config.fingerprint() != SynthesisConfig(general=LMConfig(model="big")).fingerprint()


def test_from_dict_parses_optional_lm_sections_and_names_bad_keys():
    config = SynthesisConfig.from_dict({"relevance_lm": {"model": "/models/clf"}, "general_threshold": 0.3})
    assert isinstance(config.relevance_lm, LMConfig) and config.relevance_lm.model == "/models/clf"
    assert config.rewrite_filter_lm is None and config.general_threshold == 0.3
    with pytest.raises(ValueError, match=r"\[relevance_lm\]: unknown keys \['modle'\]"):
        SynthesisConfig.from_dict({"relevance_lm": {"modle": "x"}})


def test_filters_get_their_own_scorer_only_when_configured():
    from tailsynth.programs.build import filter_scorers

    rewrite, relevance = filter_scorers(SynthesisConfig())
    assert rewrite is relevance  # one general LLM, loaded once
    rewrite, relevance = filter_scorers(SynthesisConfig(relevance_lm=LMConfig(model="/models/clf-general")))
    assert rewrite is not relevance and relevance.path == "/models/clf-general" and rewrite.path is None


def test_set_overrides_read_values_as_toml_and_build_trainer_configs():
    from tailsynth.config import from_dict, parse_overrides
    from tailsynth.training import RLConfig, SFTConfig

    values = parse_overrides(["lr=1e-4", "trainable_layers=none", "live=false", "base_model=/m/sft", "run_id=\"a b\""])
    assert values == {"lr": 1e-4, "trainable_layers": None, "live": False, "base_model": "/m/sft", "run_id": "a b"}
    config = from_dict(SFTConfig, values)
    assert config.lr == 1e-4 and config.trainable_layers is None and config.base_model == "/m/sft"
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(["lr"])
    with pytest.raises(ValueError, match=r"unknown keys \['lrr'\]"):
        from_dict(SFTConfig, parse_overrides(["lrr=1"]))
    with pytest.raises(ValueError, match="baseline must be one of"):
        from_dict(RLConfig, parse_overrides(["baseline=grup"]))


def test_dotted_set_keys_reach_a_section_and_keep_its_own_defaults():
    from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig
    from tailsynth.config import from_dict, parse_overrides

    values = parse_overrides(["model.lr=5e-5", "model.base_model=/m/ce", "train_examples=100"])
    assert values == {"model": {"lr": 5e-5, "base_model": "/m/ce"}, "train_examples": 100}
    config = from_dict(CrossEncoderClassifierConfig, values)
    default = CrossEncoderClassifierConfig().model
    assert config.model.lr == 5e-5 and config.model.base_model == "/m/ce"
    # the section's default_factory settings (2 epochs, no held-out split) survive a partial override
    assert (config.model.epochs, config.model.eval_fraction) == (default.epochs, default.eval_fraction) == (2, 0.0)
    with pytest.raises(ValueError, match=r"\[model\]: unknown keys \['lrr'\]"):
        from_dict(CrossEncoderClassifierConfig, parse_overrides(["model.lrr=1"]))
    with pytest.raises(ValueError, match="is a value, not a section"):
        parse_overrides(["model=1", "model.lr=2"])
