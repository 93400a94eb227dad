"""The wallet service: stored value. Gift card types, gift cards and client accounts, each a money
instrument with one ledger; pays visits' lines (`visit.paid` payments), refunds them on `visit.cancelled`."""
