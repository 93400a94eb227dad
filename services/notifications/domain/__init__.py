"""Notice rules, pure: the standard library only, no I/O. Handlers load, call these, and save.

One module per seam: `kinds` (the notice types, their audience, shipped English texts and placeholders,
the channels on by default, refused deductions told to the client or the desk), `text` (template checks,
locale choice, values as written, rendering, SMS segments), `location` (a location's settings and its
send window), `notice` (`decide`: what one domain event's notices say, to whom, sent now, held or
skipped; `receive`: a receipt moving a notice forward). Callers use `domain.<name>`; every name is here.
"""

from services.notifications.domain.kinds import (
    ADMINISTRATOR,
    CARD,
    CHANNELS,
    CLIENT,
    CLIENT_REJECTIONS,
    COMMON,
    DEAR_CLIENT,
    DEFAULT_CHANNELS,
    DEFAULT_LOCALE,
    DEFAULT_TEMPLATES,
    DESK_REJECTIONS,
    KINDS,
    MEMBERSHIP,
    Kind,
    rejection,
)
from services.notifications.domain.location import (
    DEFAULT_SETTINGS,
    Administrator,
    LocationSettings,
    Window,
    release_at,
    settings_from_doc,
    settings_of,
)
from services.notifications.domain.notice import (
    STATUS_RANK,
    Decided,
    Delivery,
    Draft,
    Recipient,
    address,
    decide,
    receipt_applies,
    receive,
    skip_reason,
)
from services.notifications.domain.text import (
    GSM7_BASIC,
    GSM7_EXTENDED,
    SAMPLE_VALUES,
    Segments,
    choose_template,
    count_segments,
    local_date,
    number,
    placeholders,
    prepare,
    preview,
    quantity,
    render,
    template_problems,
    visits_phrase,
)

__all__ = [
    "ADMINISTRATOR", "CARD", "CHANNELS", "CLIENT", "CLIENT_REJECTIONS", "COMMON", "DEAR_CLIENT", "DEFAULT_CHANNELS",
    "DEFAULT_LOCALE", "DEFAULT_SETTINGS", "DEFAULT_TEMPLATES", "DESK_REJECTIONS", "GSM7_BASIC", "GSM7_EXTENDED",
    "KINDS", "MEMBERSHIP", "SAMPLE_VALUES", "STATUS_RANK", "Administrator", "Decided", "Delivery", "Draft", "Kind",
    "LocationSettings", "Recipient", "Segments", "Window", "address", "choose_template", "count_segments", "decide",
    "local_date", "number", "placeholders", "prepare", "preview", "quantity", "receipt_applies", "receive", "rejection",
    "release_at", "render", "settings_from_doc", "settings_of", "skip_reason", "template_problems", "visits_phrase",
]
