"""The audit of patients taken over by a therapist: ``patient_claims`` (who, from whom, when, how).

A patient with no therapist is claimed only by an explicit command (``coach users claim``, ``coach users
add``), each recorded here; the HTTP API no longer takes such a patient over.

Revision ID: 0005_patient_claims
Revises: 0004_analysis_jobs
Create Date: 2026-12-07 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005_patient_claims'
down_revision: Union[str, Sequence[str], None] = '0004_analysis_jobs'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('patient_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('previous_therapist_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=False),
    sa.Column('how', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_claims_patient_id_patients'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['previous_therapist_id'], ['therapists.id'],
                            name=op.f('fk_patient_claims_previous_therapist_id_therapists'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'],
                            name=op.f('fk_patient_claims_therapist_id_therapists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_claims'))
    )
    with op.batch_alter_table('patient_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_claims_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_claims_patient_id'))

    op.drop_table('patient_claims')
