"""A customer's typed profile fields and their limits, as the API and adapters may set them.

Values are taken as they are typed, never coerced: "60000" is no lifetime value and "yes"
no consent, whether it comes from PATCH /v1/customers/{id} or from a contact."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    field_validator,
)

from ..errors import InvalidInput
from .values import Key

ExtraValue = str | int | float | bool | None


def _scalar(value: Any) -> ExtraValue:
    """A JSON scalar as it is: true stays a boolean, 1 a whole number (no coercion)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    raise ValueError("must be a string, number, boolean or null")


# validated by hand, so an error names the key rather than each member of the union
Extra = Annotated[ExtraValue, PlainValidator(_scalar, json_schema_input_type=ExtraValue)]
LanguageTag = Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]
# what a contact's customer object may set on the profile (the rest only routes that contact)
FROM_CONTACTS = ("name", "tier", "language", "segment", "lifetime_value")


class ProfileFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] | None = None
    tier: Annotated[str, Field(max_length=50)] | None = None
    language: LanguageTag | None = None
    segment: Annotated[str, Field(max_length=50)] | None = None
    lifetime_value: (
        Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False, strict=True)] | None
    ) = None
    consent: dict[Key, StrictBool] | None = Field(None, max_length=20)
    extras: dict[Key, Extra] | None = Field(None, max_length=50)

    @field_validator("extras")
    @classmethod
    def _short_values(cls, value: dict[str, ExtraValue] | None) -> dict[str, ExtraValue] | None:
        for key, item in (value or {}).items():
            if isinstance(item, str) and len(item) > 1000:
                raise ValueError(f"extras.{key} is longer than 1000 characters")
        return value


def profile_from_contact(customer: dict[str, Any] | None) -> dict[str, Any]:
    """The profile fields a contact's customer object names, checked as PATCH checks them
    and typed (a whole lifetime value becomes a number with a fraction); InvalidInput names
    a bad one. Only FROM_CONTACTS of them are kept on the profile; all route the contact."""
    declared = ProfileFields.model_fields
    given = {k: v for k, v in (customer or {}).items() if k in declared and v is not None}
    try:
        return ProfileFields.model_validate(given).model_dump(exclude_unset=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"customer.{field}: {error['msg']}", field=f"customer.{field}") from exc
