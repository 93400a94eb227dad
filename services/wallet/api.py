"""HTTP routes of the wallet service (they only route: the work is in usecases/)."""

from fastapi import APIRouter

router = APIRouter()
