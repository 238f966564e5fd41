"""The model catalog (SPEC C1): battery, warranty and service-life facts per UPS model.

Model data is data, never literals in the rules: the package ships a catalog file
(``upslife/data/catalog.json``) and a user can load one of the same schema and merge it
over the shipped one. Every value in the shipped file names its public source, or says
``"assumption: ..."`` and why, in the entry's ``sources`` (SPEC C1).

>>> catalog = Catalog.default()
>>> catalog.get(" smt1500c ").battery_sku
'RBC7'
>>> catalog.get("SMTL750RMI2UC").chemistry is Chemistry.LITHIUM_ION
True

The catalog may also hold the orderable part numbers of plan licenses, per plan and term
(``plan_licenses``). The shipped table is empty: no public source publishes them, and a
made-up part number would be worse than none. An operator who has them writes them in a
catalog file of their own (docs/operations.md).

>>> catalog.plan_license("STANDARD", "1Y") is None
True

The module reads no file but the shipped data file and the file a caller names; it holds
no state but an immutable cache of the shipped catalog.
"""

from __future__ import annotations

import difflib
import enum
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from os import PathLike, fspath
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from upslife._validation import MAX_MESSAGE, MAX_SERIAL, require_positive_int, require_text
from upslife.errors import InvalidInput, InvalidQuantity, UnknownModel

__all__ = [
    "ASSUMPTION_PREFIX",
    "LICENSED_PLANS",
    "LICENSE_TERMS",
    "MODEL_FIELDS",
    "Catalog",
    "Chemistry",
    "ModelInfo",
    "PlanLicensePart",
    "plan_license_key",
]


class Chemistry(enum.Enum):
    """Battery chemistry of a model; it decides battery life and the trial bonus (SPEC E8, E9)."""

    LEAD_ACID = "lead-acid"
    LITHIUM_ION = "lithium-ion"


ASSUMPTION_PREFIX: Final = "assumption:"
"""A ``sources`` text that starts with this marks a value no public source backs (SPEC C1)."""

MODEL_FIELDS: Final = (
    "model",
    "family",
    "va",
    "form_factor",
    "battery_sku",
    "chemistry",
    "battery_life_months",
    "base_warranty_months",
    "warranty_extension_sku",
    "service_life_months",
)
"""The data fields of :class:`ModelInfo`, in file order; each may have a ``sources`` entry."""

OPTIONAL_FIELDS: Final = ("latest_firmware",)
"""Fields an entry may leave out; each may have a ``sources`` entry when present."""

_TEXT_FIELDS: Final = frozenset(
    {"model", "family", "form_factor", "battery_sku", "warranty_extension_sku"}
)
_COUNT_FIELDS: Final = frozenset(
    {"va", "battery_life_months", "base_warranty_months", "service_life_months"}
)
LICENSED_PLANS: Final = ("STANDARD", "ADVANCED")
"""The plans sold as licenses, as named in ``plan_licenses`` (``Plan.name``, SPEC E1)."""

LICENSE_TERMS: Final = ("1Y", "3Y", "5Y")
"""The license terms, as named in ``plan_licenses`` (``Term.label``, SPEC E3)."""

PLAN_LICENSE_FIELDS: Final = ("part_number", "source")
"""The fields of one ``plan_licenses`` entry; both are required."""

_SCHEMA_HINT: Final = (
    "see docs/catalog.md for the schema, or the shipped upslife/data/catalog.json for an example"
)


# --------------------------------------------------------------------------- validation


def _model_key(value: str) -> str:
    """A model code as stored: trimmed, upper case (``" smt1500c"`` → ``"SMT1500C"``)."""
    return require_text(value, "model", max_length=MAX_SERIAL).upper()


def _text_field(instance: ModelInfo, attribute: attrs.Attribute[str], value: object) -> None:
    require_text(value, f"{attribute.name} of model {instance.model}")


def _count_field(instance: ModelInfo, attribute: attrs.Attribute[int], value: object) -> None:
    require_positive_int(value, f"{attribute.name} of model {instance.model}")


def _chemistry_field(
    instance: ModelInfo, attribute: attrs.Attribute[Chemistry], value: object
) -> None:
    if not isinstance(value, Chemistry):
        raise InvalidInput(
            f"{attribute.name} of model {instance.model} must be a Chemistry, "
            f"got {type(value).__name__}: {_shortened(repr(value))}"
        )


def _frozen_sources(value: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of ``sources``, keys in :data:`MODEL_FIELDS` order."""
    candidate: object = value  # typed callers aside, a loaded file can hold anything
    if not isinstance(candidate, Mapping):
        raise InvalidInput(
            f"sources must map field names to texts, got {_json_type(candidate)}"
        )
    copy: dict[object, object] = dict(candidate)
    known = (*MODEL_FIELDS, *OPTIONAL_FIELDS)
    unknown = sorted(repr(key) for key in copy if key not in known)
    if unknown:
        raise InvalidInput(
            f"sources names unknown field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(known)}"
        )
    frozen: dict[str, str] = {}
    for key in known:
        if key in copy:
            text = copy[key]
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(
                    f"the source of {key} must be a non-empty text, got {_json_type(text)}"
                )
            frozen[key] = text.strip()
    return MappingProxyType(frozen)


# --------------------------------------------------------------------------- values


@final
@attrs.frozen
class ModelInfo:
    """What the rules need to know about one UPS model (SPEC C1).

    Counts are whole calendar months (SPEC D3) or volt-amperes and must be at least 1;
    texts must be non-empty; a bad value raises an :class:`~upslife.errors.InvalidInput`
    that names the model and the field (SPEC D5). ``sources`` maps a field name to the
    public source of its value, or to a text starting with :data:`ASSUMPTION_PREFIX` that
    says why the value was chosen where no source was found.

    Args:
        model: the APC model code, stored trimmed and in upper case (``"SMT1500C"``).
        family: the product family (``"Smart-UPS SMT"``).
        va: the rating in volt-amperes.
        form_factor: ``"tower"`` or ``"rack 2U"`` (free text: other forms exist).
        battery_sku: the replacement battery cartridge (``"RBC7"``); rack-mount and tower
            models of one rating take different cartridges.
        chemistry: lead-acid or lithium-ion (SPEC E8, E9).
        battery_life_months: expected battery life; the replace-by date is the battery
            install date plus this, unless the UPS reports its own (SPEC E9).
        base_warranty_months: the device warranty from registration (SPEC E8).
        warranty_extension_sku: the WEXTWAR/WBEXTWAR SKU a reseller quotes (SPEC E7, N6).
        service_life_months: recommended service life; reaching it is the "UPS upgrade
            due" event (SPEC N1).
        sources: field name → source or ``"assumption: ..."`` (SPEC C1).
        latest_firmware: the newest firmware version published for the model, when known;
            a UPS reporting an older one has an update available (SPEC R1).

    >>> ModelInfo("smt750c", "Smart-UPS SMT", 750, "tower", "RBC48", Chemistry.LEAD_ACID,
    ...           48, 36, "WEXTWAR1YR-SP-01", 96).model
    'SMT750C'
    """

    model: str = attrs.field(converter=_model_key)
    family: str = attrs.field(validator=_text_field)
    va: int = attrs.field(validator=_count_field)
    form_factor: str = attrs.field(validator=_text_field)
    battery_sku: str = attrs.field(validator=_text_field)
    chemistry: Chemistry = attrs.field(validator=_chemistry_field)
    battery_life_months: int = attrs.field(validator=_count_field)
    base_warranty_months: int = attrs.field(validator=_count_field)
    warranty_extension_sku: str = attrs.field(validator=_text_field)
    service_life_months: int = attrs.field(validator=_count_field)
    # Compared but not hashed: a read-only mapping is not hashable, and equal facts with
    # different notes hash alike anyway.
    sources: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_sources, hash=False
    )
    latest_firmware: str | None = attrs.field(default=None, kw_only=True)

    @latest_firmware.validator
    def _check_latest_firmware(self, attribute: Any, value: object) -> None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidInput(
                f"latest_firmware of model {self.model} must be a non-empty text or absent, "
                f"got {_json_type(value)}"
            )

    @property
    def unsourced_fields(self) -> tuple[str, ...]:
        """The data fields with no note in ``sources`` (SPEC C1: the shipped file has none)."""
        return tuple(name for name in MODEL_FIELDS if name not in self.sources)

    @property
    def assumed_fields(self) -> tuple[str, ...]:
        """The data fields whose value is an assumption rather than a public fact (SPEC C1)."""
        return tuple(
            name
            for name, text in self.sources.items()
            if text.lower().startswith(ASSUMPTION_PREFIX)
        )

    def to_json_data(self) -> dict[str, Any]:
        """This entry in the catalog file's schema (the inverse of the loader)."""
        data: dict[str, Any] = {name: getattr(self, name) for name in MODEL_FIELDS}
        data["chemistry"] = self.chemistry.value
        if self.latest_firmware is not None:
            data["latest_firmware"] = self.latest_firmware
        data["sources"] = dict(self.sources)
        return data


def plan_license_key(plan: str, term: str) -> str:
    """Where a plan license's part number goes in a catalog file (SPEC C1).

    >>> plan_license_key("standard", "3y")
    'plan_licenses.STANDARD.3Y'
    """
    return f"plan_licenses.{_licensed_plan(plan)}.{_license_term(term)}"


def _licensed_plan(value: object) -> str:
    if isinstance(value, str) and value.strip().upper() in LICENSED_PLANS:
        return value.strip().upper()
    raise InvalidInput(
        f"a plan license is for plan {' or '.join(LICENSED_PLANS)}, "
        f"got {_json_type(value)}"
    )


def _license_term(value: object) -> str:
    if isinstance(value, str) and value.strip().upper() in LICENSE_TERMS:
        return value.strip().upper()
    raise InvalidInput(
        f"a plan license term is {', '.join(LICENSE_TERMS)}, got {_json_type(value)}"
    )


def _part_text(instance: PlanLicensePart, attribute: attrs.Attribute[str], value: object) -> None:
    key = f"{instance.plan}.{instance.term}"
    if attribute.name == "part_number":
        require_text(value, f"the part_number of plan_licenses.{key}", max_length=MAX_SERIAL)
    else:
        require_text(value, f"the source of plan_licenses.{key}", max_length=MAX_MESSAGE)


def _stripped(value: str) -> str:
    candidate: object = value  # typed callers aside, the validator names what arrived
    return candidate.strip() if isinstance(candidate, str) else value


@final
@attrs.frozen
class PlanLicensePart:
    """The orderable part number of one plan license (plan and term), and its source (C1).

    ``plan`` is ``"STANDARD"`` or ``"ADVANCED"`` and ``term`` ``"1Y"``, ``"3Y"`` or ``"5Y"``
    (case ignored); ``part_number`` is what a buyer orders and ``source`` says where it
    comes from (a price list, a distributor's catalog, or ``"assumption: ..."``). A bad
    value raises :class:`~upslife.errors.InvalidInput` naming its catalog key.

    >>> PlanLicensePart("standard", "1y", " PN-1 ", "our distributor's price list").key
    'plan_licenses.STANDARD.1Y'
    """

    plan: str = attrs.field(converter=_licensed_plan)
    term: str = attrs.field(converter=_license_term)
    part_number: str = attrs.field(converter=_stripped, validator=_part_text)
    source: str = attrs.field(converter=_stripped, validator=_part_text)

    @property
    def key(self) -> str:
        """Its catalog key, ``plan_licenses.STANDARD.1Y``."""
        return f"plan_licenses.{self.plan}.{self.term}"


def _unique_parts(value: Iterable[PlanLicensePart]) -> tuple[PlanLicensePart, ...]:
    """The parts in plan, then term order; a plan and term listed twice is refused."""
    candidate: object = value
    if isinstance(candidate, (str, bytes, Mapping)) or not isinstance(candidate, Iterable):
        raise InvalidInput(
            f"plan_licenses is built from PlanLicensePart values, got {type(candidate).__name__}"
        )
    parts: dict[tuple[str, str], PlanLicensePart] = {}
    for part in candidate:
        if not isinstance(part, PlanLicensePart):
            raise InvalidInput(
                f"plan_licenses holds PlanLicensePart values, got {type(part).__name__}"
            )
        if (part.plan, part.term) in parts:
            raise InvalidInput(f"{part.key} is listed twice; keep one part number")
        for other in parts.values():
            if other.part_number.upper() == part.part_number.upper():
                raise InvalidInput(
                    f"{other.key} and {part.key} have the same part number "
                    f"{_shortened(repr(part.part_number))}: each plan and term is ordered "
                    "by its own"
                )
        parts[(part.plan, part.term)] = part
    return tuple(
        sorted(
            parts.values(),
            key=lambda p: (LICENSED_PLANS.index(p.plan), LICENSE_TERMS.index(p.term)),
        )
    )


def _build_index(catalog: Catalog) -> Mapping[str, ModelInfo]:
    return MappingProxyType({info.model: info for info in catalog.entries})


def _unique_entries(value: Iterable[ModelInfo]) -> tuple[ModelInfo, ...]:
    """The entries sorted by model; a model listed twice is refused rather than guessed."""
    candidate: object = value  # typed callers aside, check what actually arrived
    if isinstance(candidate, (str, bytes, Mapping)) or not isinstance(candidate, Iterable):
        raise InvalidInput(
            f"a catalog is built from ModelInfo values, got {type(candidate).__name__}"
        )
    entries: list[ModelInfo] = []
    seen: set[str] = set()
    for entry in candidate:
        if not isinstance(entry, ModelInfo):
            raise InvalidInput(
                f"a catalog holds ModelInfo values, got {type(entry).__name__}"
            )
        entries.append(entry)
        if entry.model in seen:
            raise InvalidInput(
                f"model {entry.model} is listed twice; keep one entry per model "
                "(use Catalog.merged to override an entry)"
            )
        seen.add(entry.model)
    return tuple(sorted(entries, key=lambda entry: entry.model))


@final
@attrs.frozen
class Catalog:
    """An immutable set of :class:`ModelInfo`, looked up by model code (SPEC C1).

    Lookups ignore case and surrounding blanks. An unknown model raises
    :class:`~upslife.errors.UnknownModel` (a ``LookupError``), whose message says how to
    supply a catalog of one's own. ``plan_licenses`` are the orderable part numbers of plan
    licenses the operator knows (:meth:`plan_license`); the shipped catalog has none.

    >>> Catalog.default().merged(Catalog([])).get("smc1500ic").family
    'Smart-UPS C SMC'
    """

    entries: tuple[ModelInfo, ...] = attrs.field(converter=_unique_entries)
    plan_licenses: tuple[PlanLicensePart, ...] = attrs.field(
        default=(), kw_only=True, converter=_unique_parts
    )
    _index: Mapping[str, ModelInfo] = attrs.field(
        init=False,
        eq=False,
        hash=False,
        repr=False,
        default=attrs.Factory(_build_index, takes_self=True),
    )

    # ------------------------------------------------------------------ loading

    @classmethod
    def default(cls) -> Catalog:
        """The catalog shipped with the package (``upslife/data/catalog.json``)."""
        return _shipped_catalog()

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> Catalog:
        """Load a user's catalog file (UTF-8 JSON, the shipped file's schema).

        Raises:
            InvalidInput: the file cannot be read, is not JSON, or an entry is malformed;
                the message names the file, the model and the field.
        """
        name = fspath(path)
        try:
            text = Path(name).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidInput(f"cannot read catalog file {name}: {e.strerror or e}") from e
        except UnicodeDecodeError as e:
            raise InvalidInput(f"catalog file {name} is not UTF-8 text: {e.reason}") from e
        return cls.from_json(text, origin=f"catalog file {name}")

    @classmethod
    def from_json(
        cls, source: str | bytes | Mapping[str, Any], *, origin: str = "catalog"
    ) -> Catalog:
        """Load a catalog from JSON text or from the already-parsed JSON object.

        The schema is ``{"_about": ..., "models": [entry, ...]}``; keys starting with
        ``"_"`` are comments. Each entry holds every field of :data:`MODEL_FIELDS`
        (``chemistry`` as ``"lead-acid"`` or ``"lithium-ion"``) and optionally
        ``sources``. ``origin`` names the input in error messages.

        Raises:
            InvalidInput: malformed JSON or a malformed entry; the message names the
                model (or the entry's position) and the field (SPEC D5).
        """
        if isinstance(source, (str, bytes)):
            try:
                data: object = json.loads(source)
            except json.JSONDecodeError as e:
                raise InvalidInput(
                    f"{origin} is not valid JSON: {e.msg} at line {e.lineno}, "
                    f"column {e.colno}; {_SCHEMA_HINT}"
                ) from e
            except UnicodeDecodeError as e:
                raise InvalidInput(f"{origin} is not UTF-8 text: {e.reason}") from e
            except RecursionError as e:
                raise InvalidInput(f"{origin} is nested too deeply to be a catalog") from e
        else:
            data = source
        entries, parts = _parse_document(data, origin)
        return cls(entries, plan_licenses=parts)

    # ------------------------------------------------------------------ lookup

    def get(self, model: str) -> ModelInfo:
        """The entry of ``model``, matched ignoring case and surrounding blanks.

        Raises:
            UnknownModel: no entry for the model; the message says how to add one.
            InvalidInput: ``model`` is not a non-empty string.
        """
        if type(model) is str:  # a model code as stored (trimmed, upper case) is a key as is
            info = self._index.get(model)
            if info is not None:
                return info
        key = _model_key(model)
        try:
            return self._index[key]
        except KeyError:
            raise UnknownModel(self._unknown_message(key)) from None

    def plan_license(self, plan: str, term: str) -> PlanLicensePart | None:
        """The part number of the ``plan`` license for ``term`` (``"STANDARD"``, ``"1Y"``;
        case ignored), or ``None`` when the catalog has none: then a quote names the
        license by its description and says it needs a part number.

        Raises:
            InvalidInput: ``plan`` is not a licensed plan or ``term`` not a license term.
        """
        wanted = (_licensed_plan(plan), _license_term(term))
        for part in self.plan_licenses:
            if (part.plan, part.term) == wanted:
                return part
        return None

    def __contains__(self, model: object) -> bool:
        if not isinstance(model, str) or not model.strip():
            return False
        return model.strip().upper() in self._index

    def __iter__(self) -> Iterator[str]:
        """The model codes, in sorted order."""
        return iter(self._index)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def models(self) -> tuple[str, ...]:
        """The model codes, in sorted order."""
        return tuple(self._index)

    # ------------------------------------------------------------------ combining

    def merged(self, other: Catalog) -> Catalog:
        """This catalog with ``other``'s entries added; on a shared model ``other`` wins,
        and so on a plan license part number of the same plan and term.

        >>> shipped = Catalog.default()
        >>> mine = Catalog([attrs.evolve(shipped.get("SMT1500C"), battery_life_months=36)])
        >>> shipped.merged(mine).get("SMT1500C").battery_life_months
        36
        """
        if not isinstance(other, Catalog):
            raise InvalidInput(f"can only merge another Catalog, got {type(other).__name__}")
        combined = dict(self._index)
        combined.update(other._index)
        parts = {(p.plan, p.term): p for p in self.plan_licenses}
        parts.update({(p.plan, p.term): p for p in other.plan_licenses})
        return Catalog(combined.values(), plan_licenses=parts.values())

    def to_json(self) -> str:
        """The catalog as JSON in the file schema, so ``from_json(c.to_json()) == c``."""
        document: dict[str, Any] = {
            "_about": "upslife model catalog (SPEC C1); schema in docs/catalog.md",
            "models": [entry.to_json_data() for entry in self.entries],
        }
        if self.plan_licenses:
            table: dict[str, dict[str, dict[str, str]]] = {}
            for part in self.plan_licenses:
                table.setdefault(part.plan, {})[part.term] = {
                    "part_number": part.part_number,
                    "source": part.source,
                }
            document["plan_licenses"] = table
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def _unknown_message(self, key: str) -> str:
        near = difflib.get_close_matches(key, self._index, n=3, cutoff=0.8)
        hint = f" (close: {', '.join(near)})" if near else ""
        return (
            f"unknown UPS model {key!r}: the catalog has no entry for it{hint}. "
            "To add or correct models, write a JSON file in the shipped catalog's schema "
            "(docs/catalog.md) and load it with "
            "Catalog.default().merged(Catalog.from_file(path)) (SPEC C1)"
        )


# The shipped catalog is immutable data read from the package itself, so caching it is
# safe: every call returns an equal value, and no rule's result depends on the cache.
@functools.lru_cache(maxsize=1)
def _shipped_catalog() -> Catalog:
    data_file = resources.files("upslife") / "data" / "catalog.json"
    return Catalog.from_json(data_file.read_text(encoding="utf-8"), origin="shipped catalog")


# --------------------------------------------------------------------------- parsing


def _parse_document(
    data: object, origin: str
) -> tuple[list[ModelInfo], list[PlanLicensePart]]:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{origin} must be a JSON object with a 'models' list, got "
            f"{_json_type(data)}; {_SCHEMA_HINT}"
        )
    unknown = sorted(
        _shortened(repr(key)) for key in data if not (isinstance(key, str) and key.startswith("_"))
        and key not in ("models", "plan_licenses")
    )
    if unknown:
        raise InvalidInput(
            f"{origin} has unknown top-level key(s) {', '.join(unknown)}; expected 'models' "
            f"and optionally 'plan_licenses' (keys starting with '_' are comments); "
            f"{_SCHEMA_HINT}"
        )
    if "models" not in data:
        raise InvalidInput(f"{origin} has no 'models' list; {_SCHEMA_HINT}")
    models = data["models"]
    if not isinstance(models, list):
        raise InvalidInput(f"{origin}: 'models' must be a list, got {_json_type(models)}")
    entries = [_parse_entry(raw, f"{origin}, entry {position}") for position, raw in
               enumerate(models, start=1)]
    seen: dict[str, int] = {}
    for position, entry in enumerate(entries, start=1):
        if entry.model in seen:
            raise InvalidInput(
                f"{origin}: model {entry.model} is listed twice (entries {seen[entry.model]} "
                f"and {position}); keep one"
            )
        seen[entry.model] = position
    return entries, _parse_plan_licenses(data.get("plan_licenses", {}), origin)


def _comment(key: object) -> bool:
    return isinstance(key, str) and key.startswith("_")


def _check_fields(
    raw: Mapping[Any, object],
    where: str,
    known: Sequence[str],
    required: Sequence[str],
    *,
    missing_note: str = "",
) -> None:
    """Refuse a catalog entry with a field outside ``known`` (``_`` comments aside) or
    without one of ``required``, naming the entry and the fields."""
    unknown = sorted(_shortened(repr(key)) for key in raw if key not in known and not _comment(key))
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(known)}"
        )
    missing = [name for name in required if name not in raw]
    if missing:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}{missing_note}")


def _parse_plan_licenses(table: object, origin: str) -> list[PlanLicensePart]:
    """``{"STANDARD": {"1Y": {"part_number": ..., "source": ...}, ...}, ...}``; any part
    may be left out, and every error names the key it is about."""
    where = f"{origin}: plan_licenses"
    if not isinstance(table, Mapping):
        raise InvalidInput(
            f"{where} must be an object of plan -> term -> "
            f"{{part_number, source}}, got {_json_type(table)}"
        )
    parts: list[PlanLicensePart] = []
    for plan, terms in table.items():
        if _comment(plan):
            continue
        if plan not in LICENSED_PLANS:
            raise InvalidInput(
                f"{where}: unknown plan {_shortened(repr(plan))}; "
                f"plans: {', '.join(LICENSED_PLANS)}"
            )
        if not isinstance(terms, Mapping):
            raise InvalidInput(
                f"{where}.{plan} must be an object of term -> {{part_number, source}}, "
                f"got {_json_type(terms)}"
            )
        for term, entry in terms.items():
            if _comment(term):
                continue
            if term not in LICENSE_TERMS:
                raise InvalidInput(
                    f"{where}.{plan}: unknown term {_shortened(repr(term))}; "
                    f"terms: {', '.join(LICENSE_TERMS)}"
                )
            parts.append(_parse_part(entry, plan, term, origin))
    try:
        _unique_parts(parts)  # the same part number twice is refused with the file named
    except InvalidInput as e:
        raise InvalidInput(f"{origin}: {e}") from e
    return parts


def _parse_part(entry: object, plan: str, term: str, origin: str) -> PlanLicensePart:
    where = f"{origin}: {plan_license_key(plan, term)}"
    if not isinstance(entry, Mapping):
        raise InvalidInput(
            f"{where} must be an object with part_number and source, got {_json_type(entry)}"
        )
    _check_fields(
        entry, where, PLAN_LICENSE_FIELDS, PLAN_LICENSE_FIELDS,
        missing_note=" (every part number names its source, SPEC C1)",
    )  # fmt: skip
    for name in PLAN_LICENSE_FIELDS:
        if not isinstance(entry[name], str):
            raise InvalidInput(
                f"{where}: field {name} must be a string, got {_json_type(entry[name])}"
            )
    try:
        return PlanLicensePart(plan, term, entry["part_number"], entry["source"])
    except InvalidInput as e:
        raise InvalidInput(f"{origin}: {e}") from e


def _parse_entry(raw: object, where: str) -> ModelInfo:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where} must be a JSON object, got {_json_type(raw)}")
    model = raw.get("model")
    if isinstance(model, str) and model.strip():
        where = f"{where} (model {model.strip().upper()})"
    _check_fields(raw, where, (*MODEL_FIELDS, *OPTIONAL_FIELDS, "sources"), MODEL_FIELDS)
    values: dict[str, Any] = {}
    for name in MODEL_FIELDS:
        value = raw[name]
        if name in _TEXT_FIELDS:
            if not isinstance(value, str):
                raise InvalidInput(
                    f"{where}: field {name} must be a string, got {_json_type(value)}"
                )
            value = value.strip()
        elif name in _COUNT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidQuantity(
                f"{where}: field {name} must be a whole number, got {_json_type(value)}"
            )
        values[name] = value
    values["chemistry"] = _parse_chemistry(values["chemistry"], where)
    sources = raw.get("sources", {})
    if not isinstance(sources, Mapping):
        raise InvalidInput(
            f"{where}: field sources must be an object of field name -> text, "
            f"got {_json_type(sources)}"
        )
    latest = raw.get("latest_firmware")
    if latest is not None and not isinstance(latest, str):
        raise InvalidInput(
            f"{where}: field latest_firmware must be a string, got {_json_type(latest)}"
        )
    try:
        return ModelInfo(
            **values, sources=sources, latest_firmware=None if latest is None else latest.strip()
        )
    except InvalidQuantity as e:
        raise InvalidQuantity(f"{where}: {e}") from e
    except InvalidInput as e:
        raise InvalidInput(f"{where}: {e}") from e


def _parse_chemistry(value: object, where: str) -> Chemistry:
    if isinstance(value, str):
        wanted = value.strip().lower().replace("_", "-")
        for chemistry in Chemistry:
            if wanted == chemistry.value:
                return chemistry
    known = " or ".join(repr(chemistry.value) for chemistry in Chemistry)
    raise InvalidInput(f"{where}: field chemistry must be {known}, got {_json_type(value)}")


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({_shortened(repr(value))})"
    if isinstance(value, str):
        return f"a string ({_shortened(repr(value))})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _shortened(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, so a huge value cannot flood a message."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
