"""Reps whose return was not seen: ``reps.ended_early``.

A rep that passed its turning point and came most of the way back when observation ended (the source
ended, faded, or lost the person) is counted and marked so (``coach.engine.events.RepRecord.ended_early``).

Revision ID: 0006_rep_ended_early
Revises: 0005_patient_claims
Create Date: 2026-12-07 07:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006_rep_ended_early'
down_revision: Union[str, Sequence[str], None] = '0005_patient_claims'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('reps') as batch:
        batch.add_column(sa.Column('ended_early', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('reps') as batch:
        batch.drop_column('ended_early')
