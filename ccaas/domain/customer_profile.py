"""A customer's typed profile fields and their limits, as the API and adapters may set them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInput
from .values import Key

ExtraValue = str | int | float | bool | None
LanguageTag = Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]
# what a contact's customer object may set on the profile (the rest only routes that contact)
FROM_CONTACTS = ("name", "tier", "language", "segment", "lifetime_value")


class ProfileFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] | None = None
    tier: Annotated[str, Field(max_length=50)] | None = None
    language: LanguageTag | None = None
    segment: Annotated[str, Field(max_length=50)] | None = None
    lifetime_value: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)] | None = None
    consent: dict[Key, bool] | None = Field(None, max_length=20)
    extras: dict[Key, Annotated[ExtraValue, Field(union_mode="left_to_right")]] | None = Field(
        None, max_length=50
    )

    @field_validator("extras")
    @classmethod
    def _short_values(cls, value: dict[str, ExtraValue] | None) -> dict[str, ExtraValue] | None:
        for key, item in (value or {}).items():
            if isinstance(item, str) and len(item) > 1000:
                raise ValueError(f"extras.{key} is longer than 1000 characters")
        return value


def profile_from_contact(customer: dict[str, Any] | None) -> dict[str, Any]:
    """The profile fields a contact's customer object sets; InvalidInput names a bad one."""
    given = {k: v for k, v in (customer or {}).items() if k in FROM_CONTACTS and v is not None}
    try:
        return ProfileFields.model_validate(given).model_dump(exclude_unset=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"customer.{field}: {error['msg']}", field=f"customer.{field}") from exc
