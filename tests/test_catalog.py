"""The model catalog, read as the rules it encodes (SPEC C1, with E8, E9 and D5).

Each test cites its rule in a comment so ``grep "SPEC C1"`` finds it.
"""

from __future__ import annotations

import contextlib
import json
import string
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.catalog import (
    ASSUMPTION_PREFIX,
    MODEL_FIELDS,
    Catalog,
    Chemistry,
    ModelInfo,
    PlanLicensePart,
    plan_license_key,
)
from upslife.errors import (
    InvalidInput,
    InvalidQuantity,
    NotFound,
    UnknownModel,
    UpslifeError,
)

# The SmartConnect 1-3 kVA models the shipped catalog must know (SPEC C1).
LISTED_MODELS = (
    "SMT750C",
    "SMT1000C",
    "SMT1500C",
    "SMT2200C",
    "SMT3000C",
    "SMT750IC",
    "SMT1000IC",
    "SMT1500IC",
    "SMT2200IC",
    "SMT3000IC",
    "SMT750RMI2UC",
    "SMT1000RMI2UC",
    "SMT1500RMI2UC",
    "SMT2200RMI2UC",
    "SMT3000RMI2UC",
    "SMC1000C",
    "SMC1500C",
    "SMC1000IC",
    "SMC1500IC",
)
SMT_RATINGS = (750, 1000, 1500, 2200, 3000)
COUNT_FIELDS = ("va", "battery_life_months", "base_warranty_months", "service_life_months")
TEXT_FIELDS = ("family", "form_factor", "battery_sku", "warranty_extension_sku")


def shipped_entry(model: str = "SMT1500C") -> dict[str, Any]:
    """A shipped entry in the file schema, to edit into a user's file."""
    return Catalog.default().get(model).to_json_data()


def document(*entries: object) -> dict[str, Any]:
    return {"_about": "a user's catalog", "models": list(entries)}


def changed(info: ModelInfo, **changes: Any) -> ModelInfo:
    """``info`` with fields replaced, however wrong their types: the constructor must cope."""
    return attrs.evolve(info, **changes)


# --------------------------------------------------------------------------- strategies

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)
model_codes = st.text(
    alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=14
)
# Catalog texts refuse control and format characters (issue 13).
_printable = st.characters(exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"])
clean_texts = (
    st.text(_printable, min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)


@st.composite
def model_infos(draw: st.DrawFn, model: str | None = None) -> ModelInfo:
    """Any valid entry; its texts are already trimmed, as the loader stores them."""
    fields = draw(st.lists(st.sampled_from(MODEL_FIELDS), unique=True))
    return ModelInfo(
        model=model if model is not None else draw(model_codes),
        family=draw(clean_texts),
        va=draw(st.integers(1, 20_000)),
        form_factor=draw(clean_texts),
        battery_sku=draw(clean_texts),
        chemistry=draw(st.sampled_from(Chemistry)),
        battery_life_months=draw(st.integers(1, 240)),
        base_warranty_months=draw(st.integers(1, 120)),
        warranty_extension_sku=draw(clean_texts),
        service_life_months=draw(st.integers(1, 360)),
        sources={name: draw(clean_texts) for name in fields},
    )


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    models = draw(st.lists(model_codes, unique=True, max_size=5))
    return Catalog([draw(model_infos(model=model)) for model in models])


# --------------------------------------------------------------------------- shipped data


class TestTheShippedCatalogKnowsTheSmartConnectModels:
    @pytest.mark.parametrize("model", LISTED_MODELS)
    def test_every_listed_model_is_in_the_shipped_catalog(self, model: str) -> None:
        # SPEC C1
        assert model in Catalog.default()
        assert Catalog.default().get(model).model == model

    def test_the_catalog_file_ships_as_package_data(self) -> None:
        # SPEC C1
        data_file = resources.files("upslife") / "data" / "catalog.json"
        assert data_file.is_file()
        assert "_about" in json.loads(data_file.read_text(encoding="utf-8"))

    def test_loading_the_shipped_catalog_twice_gives_equal_catalogs(self) -> None:
        # SPEC C1
        assert Catalog.default() == Catalog.default()
        assert len(Catalog.default()) >= len(LISTED_MODELS)

    @pytest.mark.parametrize("va", SMT_RATINGS)
    def test_rack_mount_and_tower_models_of_one_rating_take_different_batteries(
        self, va: int
    ) -> None:
        # SPEC C1
        tower = Catalog.default().get(f"SMT{va}C")
        rack = Catalog.default().get(f"SMT{va}RMI2UC")
        assert tower.form_factor == "tower"
        assert rack.form_factor == "rack 2U"
        assert tower.battery_sku != rack.battery_sku

    @pytest.mark.parametrize(
        ("domestic", "international"),
        [(f"SMT{va}C", f"SMT{va}IC") for va in SMT_RATINGS]
        + [("SMC1000C", "SMC1000IC"), ("SMC1500C", "SMC1500IC")],
    )
    def test_an_international_ic_variant_has_the_facts_of_its_domestic_twin(
        self, domestic: str, international: str
    ) -> None:
        # SPEC C1
        def facts(info: ModelInfo) -> dict[str, Any]:
            return {
                name: value
                for name, value in info.to_json_data().items()
                if name not in ("model", "sources")
            }

        catalog = Catalog.default()
        assert facts(catalog.get(domestic)) == facts(catalog.get(international))

    def test_the_shipped_catalog_holds_a_lithium_ion_model(self) -> None:
        # SPEC C1, SPEC E9
        chemistries = {info.chemistry for info in Catalog.default().entries}
        assert chemistries == {Chemistry.LEAD_ACID, Chemistry.LITHIUM_ION}

    def test_lithium_ion_batteries_are_expected_to_outlast_lead_acid_ones(self) -> None:
        # SPEC E9
        entries = Catalog.default().entries
        lead_acid = {e.battery_life_months for e in entries if e.chemistry is Chemistry.LEAD_ACID}
        lithium = {e.battery_life_months for e in entries if e.chemistry is Chemistry.LITHIUM_ION}
        assert min(lithium) > max(lead_acid)

    def test_a_model_is_due_for_upgrade_no_sooner_than_its_first_battery_change(self) -> None:
        # SPEC C1 (service life feeds the "UPS upgrade due" event of SPEC N1)
        for info in Catalog.default().entries:
            assert info.service_life_months >= info.battery_life_months, info.model


class TestEveryShippedFactNamesItsSource:
    @pytest.mark.parametrize("model", Catalog.default().models)
    def test_every_field_is_sourced_or_marked_as_an_assumption(self, model: str) -> None:
        # SPEC C1
        info = Catalog.default().get(model)
        assert info.unsourced_fields == ()
        present = {"latest_firmware"} if info.latest_firmware is not None else set()
        assert set(info.sources) == set(MODEL_FIELDS) | present

    @pytest.mark.parametrize("model", Catalog.default().models)
    def test_an_assumption_says_why_it_was_made(self, model: str) -> None:
        # SPEC C1
        info = Catalog.default().get(model)
        for name in info.assumed_fields:
            reasoning = info.sources[name][len(ASSUMPTION_PREFIX) :].strip()
            assert len(reasoning.split()) >= 8, (model, name, reasoning)

    def test_assumed_fields_are_the_ones_whose_source_starts_with_the_marker(self) -> None:
        # SPEC C1
        info = attrs.evolve(
            Catalog.default().get("SMT1500C"),
            sources={"battery_sku": "vendor page", "va": "Assumption: the model code says so"},
        )
        assert info.assumed_fields == ("va",)
        assert "battery_sku" not in info.unsourced_fields
        assert "chemistry" in info.unsourced_fields


# --------------------------------------------------------------------------- lookups


class TestLookingUpAModel:
    @pytest.mark.parametrize("spelling", ["SMT1500C", "smt1500c", "  Smt1500C\t", "\nsmt1500C "])
    def test_lookup_ignores_case_and_surrounding_blanks(self, spelling: str) -> None:
        # SPEC C1
        assert Catalog.default().get(spelling).model == "SMT1500C"
        assert spelling in Catalog.default()

    @given(
        text=st.one_of(
            st.sampled_from(sorted(Catalog.default())).flatmap(
                lambda model: st.sampled_from([model, model.lower(), f" {model}", f"{model}\n"])
            ),
            st.text(max_size=20),
        )
    )
    def test_a_lookup_is_the_lookup_of_the_normalized_code(self, text: str) -> None:
        # SPEC C1, SPEC D5: a stored code is looked up as is (B1); any other spelling
        # finds the same entry, or fails the same way, as its trimmed upper-case code.
        catalog = Catalog.default()
        try:
            expected = catalog.get(text.strip().upper())
        except UpslifeError as e:
            with pytest.raises(type(e)):
                catalog.get(text)
            return
        assert catalog.get(text) is expected

    def test_an_unknown_model_raises_unknown_model_which_is_a_lookup_error(self) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(UnknownModel) as caught:
            Catalog.default().get("SMX9999Z")
        assert isinstance(caught.value, LookupError)
        assert isinstance(caught.value, NotFound)
        assert isinstance(caught.value, UpslifeError)

    def test_the_unknown_model_message_names_the_model_and_how_to_supply_a_catalog(
        self,
    ) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(UnknownModel, match="SMX9999Z") as caught:
            Catalog.default().get("smx9999z")
        assert "Catalog.from_file" in str(caught.value)
        assert "merged" in str(caught.value)

    def test_a_near_miss_suggests_the_models_it_resembles(self) -> None:
        # SPEC D5
        with pytest.raises(UnknownModel, match="SMT1500RMI2UC"):
            Catalog.default().get("SMT1500RMI2U")

    @pytest.mark.parametrize("blank", ["", "   ", "\t"])
    def test_a_blank_model_name_is_invalid_input_not_an_unknown_model(self, blank: str) -> None:
        # SPEC D5
        with pytest.raises(InvalidInput):
            Catalog.default().get(blank)

    @pytest.mark.parametrize("thing", [None, 1500, "", " ", b"SMT1500C"])
    def test_membership_of_anything_but_a_known_model_name_is_false(self, thing: object) -> None:
        # SPEC C1
        assert thing not in Catalog.default()

    def test_iterating_lists_every_model_once_in_sorted_order(self) -> None:
        # SPEC C1
        catalog = Catalog.default()
        assert list(catalog) == sorted(catalog.models)
        assert len(catalog) == len(set(catalog)) == len(catalog.entries)

    def test_a_catalog_refuses_two_entries_for_one_model(self) -> None:
        # SPEC C1, SPEC D5
        entry = Catalog.default().get("SMT1500C")
        with pytest.raises(InvalidInput, match="SMT1500C"):
            Catalog([entry, attrs.evolve(entry, model="smt1500c")])

    def test_a_catalog_holds_only_model_infos(self) -> None:
        # SPEC D5
        with pytest.raises(InvalidInput):
            Catalog([shipped_entry()])  # type: ignore[list-item]


# --------------------------------------------------------------------------- values


class TestAModelInfoIsValidWhenBuilt:
    def test_the_model_code_is_stored_trimmed_and_in_upper_case(self) -> None:
        # SPEC C1
        info = attrs.evolve(Catalog.default().get("SMT1500C"), model="  smt1500ic ")
        assert info.model == "SMT1500IC"

    @given(field=st.sampled_from(COUNT_FIELDS), value=st.integers(max_value=0))
    def test_a_count_below_one_is_refused_naming_the_field_and_model(
        self, field: str, value: int
    ) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidQuantity, match=field) as caught:
            changed(Catalog.default().get("SMT1500C"), **{field: value})
        assert "SMT1500C" in str(caught.value)

    @given(
        field=st.sampled_from(COUNT_FIELDS),
        value=st.one_of(st.booleans(), st.floats(), st.text(), st.none()),
    )
    def test_a_count_that_is_not_a_whole_number_is_refused(self, field: str, value: object) -> None:
        # SPEC D5
        with pytest.raises(InvalidQuantity, match=field):
            changed(Catalog.default().get("SMT1500C"), **{field: value})

    @given(field=st.sampled_from(TEXT_FIELDS), value=st.text(alphabet=" \t\r\n", max_size=3))
    def test_a_blank_text_is_refused_naming_the_field(self, field: str, value: str) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidInput, match=field):
            changed(Catalog.default().get("SMT1500C"), **{field: value})

    def test_a_chemistry_must_be_a_chemistry(self) -> None:
        # SPEC E9, SPEC D5
        with pytest.raises(InvalidInput, match="chemistry"):
            changed(Catalog.default().get("SMT1500C"), chemistry="lead-acid")

    def test_sources_may_only_name_model_fields(self) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidInput, match="batery_sku"):
            attrs.evolve(Catalog.default().get("SMT1500C"), sources={"batery_sku": "a typo"})

    def test_a_source_must_be_a_non_empty_text(self) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidInput, match="battery_sku"):
            attrs.evolve(Catalog.default().get("SMT1500C"), sources={"battery_sku": "  "})

    def test_the_sources_of_an_entry_cannot_be_changed_afterwards(self) -> None:
        # SPEC C1
        notes = {"battery_sku": "vendor page"}
        info = attrs.evolve(Catalog.default().get("SMT1500C"), sources=notes)
        notes["battery_sku"] = "changed"
        assert info.sources["battery_sku"] == "vendor page"
        with pytest.raises(TypeError):
            info.sources["battery_sku"] = "changed"  # type: ignore[index]


# --------------------------------------------------------------------------- user catalogs


class TestAUsersOwnCatalogReplacesAndExtendsTheShippedOne:
    def test_a_users_file_overrides_a_shipped_model_and_adds_a_new_one(
        self, tmp_path: Path
    ) -> None:
        # SPEC C1
        corrected = shipped_entry("SMT1500C") | {"battery_life_months": 36}
        added = shipped_entry("SMT1500C") | {"model": "SMT1500RM1UC", "form_factor": "rack 1U"}
        path = tmp_path / "my-catalog.json"
        path.write_text(json.dumps(document(corrected, added)), encoding="utf-8")

        catalog = Catalog.default().merged(Catalog.from_file(path))

        assert catalog.get("SMT1500C").battery_life_months == 36
        assert catalog.get("smt1500rm1uc").form_factor == "rack 1U"
        assert catalog.get("SMT750C") == Catalog.default().get("SMT750C")
        assert len(catalog) == len(Catalog.default()) + 1

    def test_a_users_file_can_be_named_by_a_string_path(self, tmp_path: Path) -> None:
        # SPEC C1
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(document(shipped_entry())), encoding="utf-8")
        assert Catalog.from_file(str(path)).models == ("SMT1500C",)

    def test_a_users_catalog_may_be_given_as_parsed_json(self) -> None:
        # SPEC C1
        entry = shipped_entry("SMTL750RMI2UC") | {"_note": "comments are ignored"}
        catalog = Catalog.from_json(document(entry))
        assert catalog.get("SMTL750RMI2UC").chemistry is Chemistry.LITHIUM_ION

    def test_a_users_entry_needs_no_sources(self) -> None:
        # SPEC C1
        entry = shipped_entry()
        del entry["sources"]
        info = Catalog.from_json(document(entry)).get("SMT1500C")
        assert info.unsourced_fields == MODEL_FIELDS

    def test_a_users_entry_may_name_the_latest_firmware_of_its_model(self) -> None:
        # SPEC C1, R1: what "firmware update available" is judged against
        entry = shipped_entry() | {"latest_firmware": " 15.1 "}
        info = Catalog.from_json(document(entry)).get("SMT1500C")
        assert info.latest_firmware == "15.1"
        assert Catalog.from_json(Catalog([info]).to_json()).get("SMT1500C") == info

    @pytest.mark.parametrize("value", [15, "", "  ", ["15.1"]])
    def test_a_latest_firmware_that_is_not_a_text_is_refused(self, value: object) -> None:
        # SPEC C1, D5
        with pytest.raises(InvalidInput, match="latest_firmware"):
            Catalog.from_json(document(shipped_entry() | {"latest_firmware": value}))

    @pytest.mark.parametrize("spelling", ["Lithium-Ion", " lithium_ion ", "LITHIUM-ION"])
    def test_a_chemistry_is_read_whatever_its_case(self, spelling: str) -> None:
        # SPEC E9
        entry = shipped_entry() | {"chemistry": spelling}
        info = Catalog.from_json(document(entry)).get("SMT1500C")
        assert info.chemistry is Chemistry.LITHIUM_ION

    def test_texts_in_a_users_file_are_trimmed(self) -> None:
        # SPEC C1
        entry = shipped_entry() | {"model": " smt1500c ", "battery_sku": " RBC7\n"}
        info = Catalog.from_json(document(entry)).get("SMT1500C")
        assert info.battery_sku == "RBC7"

    def test_an_empty_users_catalog_changes_nothing(self) -> None:
        # SPEC C1
        assert Catalog.default().merged(Catalog.from_json('{"models": []}')) == Catalog.default()

    @given(catalogs())
    def test_a_catalog_survives_a_round_trip_through_its_json(self, catalog: Catalog) -> None:
        # SPEC C1
        assert Catalog.from_json(catalog.to_json()) == catalog

    @given(catalogs(), catalogs())
    def test_merging_keeps_every_model_and_the_second_catalog_wins(
        self, first: Catalog, second: Catalog
    ) -> None:
        # SPEC C1
        merged = first.merged(second)
        assert set(merged) == set(first) | set(second)
        for model in merged:
            expected = second.get(model) if model in second else first.get(model)
            assert merged.get(model) == expected


# --------------------------------------------------------------------------- malformed files


def _without(field: str) -> dict[str, Any]:
    entry = shipped_entry()
    del entry[field]
    return document(entry)


def _with(**changes: Any) -> dict[str, Any]:
    return document(shipped_entry() | changes)


MALFORMED: list[tuple[str, dict[str, Any], type[InvalidInput], tuple[str, ...]]] = [
    # (case, file content, error class, fragments the message must hold besides the path)
    ("a missing field", _without("battery_sku"), InvalidInput, ("SMT1500C", "battery_sku")),
    (
        "negative months",
        _with(battery_life_months=-12),
        InvalidQuantity,
        ("SMT1500C", "battery_life_months"),
    ),
    (
        "zero months",
        _with(base_warranty_months=0),
        InvalidQuantity,
        ("SMT1500C", "base_warranty_months"),
    ),
    (
        "months as text",
        _with(service_life_months="96"),
        InvalidQuantity,
        ("SMT1500C", "service_life_months"),
    ),
    ("months as a fraction", _with(battery_life_months=47.5), InvalidQuantity, ("months",)),
    ("months as a boolean", _with(va=True), InvalidQuantity, ("SMT1500C", "va")),
    ("a blank text", _with(battery_sku="  "), InvalidInput, ("SMT1500C", "battery_sku")),
    ("a number for a text", _with(family=7), InvalidInput, ("SMT1500C", "family")),
    ("a blank model", _with(model=""), InvalidInput, ("entry 1", "model")),
    ("a model that is not text", _with(model=["SMT1500C"]), InvalidInput, ("entry 1", "model")),
    ("an unknown chemistry", _with(chemistry="nickel"), InvalidInput, ("SMT1500C", "chemistry")),
    ("a misspelt field", _with(batery_sku="RBC7"), InvalidInput, ("SMT1500C", "batery_sku")),
    ("sources not an object", _with(sources=["x"]), InvalidInput, ("SMT1500C", "sources")),
    ("a source for no field", _with(sources={"colour": "x"}), InvalidInput, ("SMT1500C", "colour")),
    ("a blank source", _with(sources={"va": ""}), InvalidInput, ("SMT1500C", "va")),
    ("an entry not an object", document(shipped_entry(), ["x"]), InvalidInput, ("entry 2",)),
    (
        "a model listed twice",
        document(shipped_entry(), shipped_entry()),
        InvalidInput,
        ("SMT1500C", "twice"),
    ),
    ("no models list", {"_about": "empty"}, InvalidInput, ("models",)),
    ("models not a list", {"models": {"SMT1500C": {}}}, InvalidInput, ("models",)),
    ("an unknown top-level key", {"models": [], "modles": []}, InvalidInput, ("modles",)),
]


class TestAMalformedUserCatalogIsRefusedWithATypedError:
    @pytest.mark.parametrize(
        ("data", "error", "fragments"),
        [pytest.param(data, error, part, id=case) for case, data, error, part in MALFORMED],
    )
    def test_a_malformed_entry_is_refused_naming_the_model_and_field(
        self,
        tmp_path: Path,
        data: dict[str, Any],
        error: type[InvalidInput],
        fragments: tuple[str, ...],
    ) -> None:
        # SPEC C1, SPEC D5
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(error) as caught:
            Catalog.from_file(path)
        for fragment in (str(path), *fragments):
            assert fragment in str(caught.value)

    @pytest.mark.parametrize("text", ["", "{", '{"models": [}', "models: []", "\ufeff{}", "NaN"])
    def test_text_that_is_not_json_is_refused_and_the_parse_error_is_chained(
        self, text: str
    ) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidInput) as caught:
            Catalog.from_json(text)
        assert not isinstance(caught.value, (KeyError, TypeError))
        if text != "NaN":
            assert isinstance(caught.value.__cause__, json.JSONDecodeError)

    @pytest.mark.parametrize("text", ["[]", "3", '"models"', "null", "true"])
    def test_json_that_is_not_an_object_is_refused(self, text: str) -> None:
        # SPEC C1, SPEC D5
        with pytest.raises(InvalidInput, match="JSON object"):
            Catalog.from_json(text)

    def test_a_missing_file_is_refused_and_the_os_error_is_chained(self, tmp_path: Path) -> None:
        # SPEC D5
        path = tmp_path / "nowhere.json"
        with pytest.raises(InvalidInput, match=r"nowhere\.json") as caught:
            Catalog.from_file(path)
        assert isinstance(caught.value.__cause__, OSError)

    def test_a_file_that_is_not_utf8_is_refused(self, tmp_path: Path) -> None:
        # SPEC D5
        path = tmp_path / "latin1.json"
        path.write_bytes(b'{"models": [], "_about": "caf\xe9"}')
        with pytest.raises(InvalidInput, match="UTF-8"):
            Catalog.from_file(path)

    def test_json_nested_beyond_reason_is_refused(self) -> None:
        # SPEC D5
        with pytest.raises(InvalidInput):
            Catalog.from_json("[" * 100_000 + "]" * 100_000)


class TestFuzzingTheLoaderYieldsOnlyDocumentedErrors:
    @given(json_values)
    def test_any_json_document_loads_or_raises_an_upslife_error(self, value: object) -> None:
        # SPEC C1, SPEC D5
        with contextlib.suppress(UpslifeError):
            Catalog.from_json(json.dumps(value))

    @given(st.dictionaries(st.text(max_size=10), json_values, max_size=4))
    def test_any_parsed_mapping_loads_or_raises_an_upslife_error(
        self, value: dict[str, Any]
    ) -> None:
        # SPEC C1, SPEC D5
        with contextlib.suppress(UpslifeError):
            Catalog.from_json(value)

    @given(st.lists(st.dictionaries(st.sampled_from((*MODEL_FIELDS, "sources")), json_values)))
    def test_any_list_of_entry_shaped_objects_loads_or_raises_an_upslife_error(
        self, entries: list[dict[str, Any]]
    ) -> None:
        # SPEC C1, SPEC D5
        with contextlib.suppress(UpslifeError):
            Catalog.from_json({"models": entries})

    @given(st.one_of(st.text(), st.binary()))
    def test_any_text_or_bytes_loads_or_raises_an_upslife_error(self, raw: str | bytes) -> None:
        # SPEC D5
        with contextlib.suppress(UpslifeError):
            Catalog.from_json(raw)

    @given(
        model=st.sampled_from(LISTED_MODELS),
        field=st.sampled_from((*MODEL_FIELDS, "sources")),
        value=json_values,
    )
    def test_one_bad_field_is_named_in_the_error_or_the_entry_loads(
        self, model: str, field: str, value: object
    ) -> None:
        # SPEC C1, SPEC D5
        entry = shipped_entry(model) | {field: value}
        outcome: Catalog | InvalidInput
        try:
            outcome = Catalog.from_json(document(entry))
        except InvalidInput as error:
            outcome = error
        if isinstance(outcome, InvalidInput):
            assert field.rstrip("s") in str(outcome)  # "sources" errors speak of "the source"
        else:
            assert len(outcome) == 1

    @given(model=st.sampled_from(LISTED_MODELS), field=st.sampled_from(MODEL_FIELDS))
    def test_a_missing_field_is_named_in_the_error(self, model: str, field: str) -> None:
        # SPEC C1, SPEC D5
        entry = shipped_entry(model)
        del entry[field]
        with pytest.raises(InvalidInput, match=field):
            Catalog.from_json(document(entry))


# --------------------------------------------------------------------------- plan licenses

PLAN_NAMES = ("STANDARD", "ADVANCED")
TERM_LABELS = ("1Y", "3Y", "5Y")
part_numbers = st.text(
    alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=20
)


@st.composite
def plan_license_tables(draw: st.DrawFn) -> dict[str, dict[str, dict[str, str]]]:
    """Any valid ``plan_licenses`` table: some plans and terms, distinct part numbers."""
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(PLAN_NAMES), st.sampled_from(TERM_LABELS)), unique=True
        )
    )
    numbers = draw(
        st.lists(part_numbers, min_size=len(keys), max_size=len(keys), unique_by=str.upper)
    )
    table: dict[str, dict[str, dict[str, str]]] = {}
    for (plan, term), number in zip(keys, numbers, strict=True):
        table.setdefault(plan, {})[term] = {"part_number": number, "source": draw(clean_texts)}
    return table


def with_parts(table: object) -> dict[str, Any]:
    return document(shipped_entry()) | {"plan_licenses": table}


def part(number: object = "PN-1", source: object = "a price list") -> dict[str, object]:
    return {"part_number": number, "source": source}


BAD_PARTS: list[tuple[str, object, tuple[str, ...]]] = [
    # (case, plan_licenses table, fragments the message must hold besides the path)
    ("a table that is not an object", [part()], ("plan_licenses",)),
    ("an unknown plan", {"BASIC": {"1Y": part()}}, ("plan_licenses", "BASIC")),
    ("a lower-case plan", {"standard": {"1Y": part()}}, ("plan_licenses", "standard")),
    ("terms not an object", {"STANDARD": ["1Y"]}, ("plan_licenses.STANDARD",)),
    ("an unknown term", {"STANDARD": {"2Y": part()}}, ("plan_licenses.STANDARD", "2Y")),
    ("an entry that is bare text", {"STANDARD": {"1Y": "PN-1"}}, ("plan_licenses.STANDARD.1Y",)),
    (
        "no source",
        {"ADVANCED": {"5Y": {"part_number": "PN-5"}}},
        ("plan_licenses.ADVANCED.5Y", "source"),
    ),
    (
        "no part number",
        {"ADVANCED": {"3Y": {"source": "a price list"}}},
        ("plan_licenses.ADVANCED.3Y", "part_number"),
    ),
    ("a blank part number", {"STANDARD": {"3Y": part("  ")}}, ("plan_licenses.STANDARD.3Y",)),
    ("a numeric part number", {"STANDARD": {"3Y": part(123)}}, ("plan_licenses.STANDARD.3Y",)),
    ("a blank source", {"STANDARD": {"1Y": part(source="")}}, ("plan_licenses.STANDARD.1Y",)),
    (
        "a control character",
        {"STANDARD": {"1Y": part("PN\n1")}},
        ("plan_licenses.STANDARD.1Y", "part_number"),
    ),
    ("an overlong part number", {"STANDARD": {"1Y": part("P" * 65)}}, ("STANDARD.1Y",)),
    (
        "a misspelt field",
        {"STANDARD": {"1Y": part() | {"part_nummer": "x"}}},
        ("plan_licenses.STANDARD.1Y", "part_nummer"),
    ),
    (
        "one part number for two terms",
        {"STANDARD": {"1Y": part("PN-1"), "3Y": part("pn-1")}},
        ("plan_licenses.STANDARD.1Y", "plan_licenses.STANDARD.3Y"),
    ),
]


class TestPlanLicensePartNumbersAreTheOperatorsData:
    def test_the_shipped_catalog_has_none_and_says_why(self) -> None:
        # SPEC C1: no public source publishes SmartConnect plan license part numbers, so the
        # shipped table is empty rather than made up, and the file says so.
        shipped = Catalog.default()
        assert shipped.plan_licenses == ()
        assert all(
            shipped.plan_license(plan, term) is None
            for plan in PLAN_NAMES
            for term in TERM_LABELS
        )
        raw = json.loads(
            (resources.files("upslife") / "data" / "catalog.json").read_text(encoding="utf-8")
        )
        assert set(raw["plan_licenses"]) == {"_about"}
        assert "no public source" in raw["plan_licenses"]["_about"]

    def test_an_operators_file_names_part_numbers_with_their_sources(self) -> None:
        # SPEC C1
        table = {
            "STANDARD": {"1Y": part(" PN-S1 ", " our distributor's list ")},
            "ADVANCED": {"_note": "3Y and 5Y not sold here", "1Y": part("PN-A1")},
        }
        catalog = Catalog.from_json(with_parts(table))
        found = catalog.plan_license("standard", "1y")
        assert found == PlanLicensePart("STANDARD", "1Y", "PN-S1", "our distributor's list")
        assert found is not None
        assert found.key == "plan_licenses.STANDARD.1Y"
        assert catalog.plan_license("ADVANCED", "3Y") is None
        assert [p.key for p in catalog.plan_licenses] == [
            "plan_licenses.STANDARD.1Y",
            "plan_licenses.ADVANCED.1Y",
        ]

    def test_the_catalog_key_of_a_plan_license(self) -> None:
        # SPEC C1: what a quote tells the operator to fill.
        assert plan_license_key(" advanced ", "5y") == "plan_licenses.ADVANCED.5Y"
        for plan, term in (("BASIC", "1Y"), ("STANDARD", "2Y"), (1, "1Y")):
            with pytest.raises(InvalidInput):
                plan_license_key(plan, term)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("table", "fragments"),
        [pytest.param(table, part, id=case) for case, table, part in BAD_PARTS],
    )
    def test_a_malformed_entry_is_refused_naming_its_key(
        self, tmp_path: Path, table: object, fragments: tuple[str, ...]
    ) -> None:
        # SPEC C1, SPEC D5
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(with_parts(table)), encoding="utf-8")
        with pytest.raises(InvalidInput) as caught:
            Catalog.from_file(path)
        assert isinstance(caught.value, UpslifeError)
        for fragment in (str(path), *fragments):
            assert fragment in str(caught.value)

    def test_a_part_number_built_by_hand_is_checked_too(self) -> None:
        # SPEC C1, SPEC D5
        for args in (
            ("GOLD", "1Y", "PN", "src"),
            ("STANDARD", "10Y", "PN", "src"),
            ("STANDARD", "1Y", "", "src"),
            ("STANDARD", "1Y", "PN", None),
        ):
            with pytest.raises(InvalidInput):
                PlanLicensePart(*args)
        one = PlanLicensePart("STANDARD", "1Y", "PN", "src")
        with pytest.raises(InvalidInput, match="twice"):
            Catalog([], plan_licenses=[one, one])
        with pytest.raises(InvalidInput):
            Catalog([], plan_licenses="PN")  # type: ignore[arg-type]

    @given(plan_license_tables())
    def test_a_table_survives_a_round_trip_through_the_json(
        self, table: dict[str, dict[str, dict[str, str]]]
    ) -> None:
        # SPEC C1
        catalog = Catalog.from_json(with_parts(table))
        assert Catalog.from_json(catalog.to_json()) == catalog
        for plan, terms in table.items():
            for term, entry in terms.items():
                found = catalog.plan_license(plan, term)
                assert found is not None
                assert found.part_number == entry["part_number"]

    @given(plan_license_tables(), plan_license_tables())
    def test_merging_overrides_part_numbers_key_by_key(
        self,
        first: dict[str, dict[str, dict[str, str]]],
        second: dict[str, dict[str, dict[str, str]]],
    ) -> None:
        # SPEC C1: the operator's file wins on each plan and term it names.
        a, b = Catalog.from_json(with_parts(first)), Catalog.from_json(with_parts(second))
        kept = {(p.plan, p.term): p.part_number.upper() for p in a.plan_licenses}
        kept.update({(p.plan, p.term): p.part_number.upper() for p in b.plan_licenses})
        if len(set(kept.values())) < len(kept):  # one part number for two plans or terms
            with pytest.raises(InvalidInput, match="same part number"):
                a.merged(b)
            return
        merged = a.merged(b)
        for plan in PLAN_NAMES:
            for term in TERM_LABELS:
                expected = b.plan_license(plan, term) or a.plan_license(plan, term)
                assert merged.plan_license(plan, term) == expected

    @given(json_values)
    def test_any_table_loads_or_raises_an_upslife_error(self, table: object) -> None:
        # SPEC C1, SPEC D5
        with contextlib.suppress(UpslifeError):
            Catalog.from_json(with_parts(table))
