"""How a location notifies (its settings, or the chain's default) and the send window arithmetic in the
location's time zone (DST included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notifications.domain.kinds import CHANNELS, DEFAULT_CHANNELS, DEFAULT_LOCALE, KINDS


@dataclass(frozen=True)
class Window:
    """Local wall-clock hours notices may be sent in: [start, end); end before start spans midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a send window needs different start and end (no window: always open)")

    def contains(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def release_at(moment: datetime, tz: ZoneInfo, window: Window | None) -> datetime:
    """The first instant at or after `moment` inside the window, in UTC. Wall-clock hours of the location's
    zone: across a DST change "09:00" is still 09:00 local; a start that does not exist that day (in
    the spring gap) is taken as the same wall time after the gap, an ambiguous one (autumn) as its first
    occurrence."""
    moment = moment.astimezone(UTC)
    if window is None:
        return moment
    local = moment.astimezone(tz)
    if window.contains(local.time().replace(tzinfo=None)):
        return moment
    for days in range(3):
        candidate = datetime.combine(local.date() + timedelta(days=days), window.start, tzinfo=tz)
        opens = candidate.astimezone(UTC)  # a wall time in the gap maps to the instant after it
        if opens > moment:
            return opens
    raise AssertionError("a window opens within two days")  # pragma: no cover


@dataclass(frozen=True)
class Administrator:
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class LocationSettings:
    """How one location (or the chain, as the default for every location) notifies."""

    time_zone: str = "UTC"
    window: Window | None = None
    locale: str = DEFAULT_LOCALE
    location_name: str | None = None
    administrator: Administrator = Administrator()
    # notice type -> channel -> on; what is not named takes DEFAULT_CHANNELS
    channels: dict[str, dict[str, bool]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def enabled(self, notice_type: str) -> list[str]:
        """The channels a notice of this type goes out on, in a fixed order."""
        mine = self.channels.get(notice_type, {})
        on = KINDS[notice_type].default_on
        return [c for c in CHANNELS if mine.get(c, on and DEFAULT_CHANNELS[c])]

    def effective_channels(self) -> dict[str, dict[str, bool]]:
        return {t: {c: c in self.enabled(t) for c in CHANNELS} for t in KINDS}


DEFAULT_SETTINGS = LocationSettings()


def settings_from_doc(doc: dict[str, object] | None) -> LocationSettings:
    """The stored JSON document of a location's settings (validated when it was saved) back to rules."""
    if not doc:
        return DEFAULT_SETTINGS
    window = doc.get("send_window")
    admin = doc.get("administrator") or {}
    assert isinstance(admin, dict)
    return LocationSettings(
        time_zone=str(doc.get("time_zone") or "UTC"),
        window=Window(time.fromisoformat(window["from"]), time.fromisoformat(window["to"]))
        if isinstance(window, dict)
        else None,
        locale=str(doc.get("locale") or DEFAULT_LOCALE),
        location_name=doc.get("location_name") or None,  # type: ignore[arg-type]
        administrator=Administrator(admin.get("name"), admin.get("phone")),
        channels=dict(doc.get("types") or {}),  # type: ignore[call-overload]
    )


def settings_of(docs: dict[str, dict[str, object]], location_id: str | None) -> LocationSettings:
    """A location's own settings, else the chain's default (`docs`: the chain's documents by location,
    '' the chain's default), else the built-in one."""
    return settings_from_doc(docs.get(location_id or "", docs.get("")))
