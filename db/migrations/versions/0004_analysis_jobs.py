"""Durable analysis jobs: the ``analysis_jobs`` table, and ``sessions.job_id`` (unique) so that a retried
job replaces its partial session instead of recording a second one.

``result`` is JSON (``json`` on PostgreSQL, text on SQLite); datetimes are naive UTC, as in 0001.

Revision ID: 0004_analysis_jobs
Revises: 0003_users_tokens
Create Date: 2026-12-04 22:55:39

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004_analysis_jobs'
down_revision: Union[str, Sequence[str], None] = '0003_users_tokens'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('analysis_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('client_key', sa.String(length=100), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.String(length=100), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('upload_name', sa.String(length=100), nullable=False),
    sa.Column('keep_upload', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('frames_done', sa.Integer(), nullable=False),
    sa.Column('frame_count', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('video', 'recording')", name=op.f('ck_analysis_jobs_kind_known')),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_analysis_jobs_status_known')),
    sa.CheckConstraint('attempts >= 0 AND max_attempts > 0', name=op.f('ck_analysis_jobs_attempts_valid')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_analysis_jobs_owner_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_analysis_jobs_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_analysis_jobs_prescription_id_prescriptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_analysis_jobs_session_id_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_jobs')),
    sa.UniqueConstraint('owner_user_id', 'client_key', name=op.f('uq_analysis_jobs_owner_user_id_client_key'))
    )
    with op.batch_alter_table('analysis_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_analysis_jobs_owner_created', ['owner_user_id', 'created_at'], unique=False)
        batch_op.create_index('ix_analysis_jobs_status', ['status'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_sessions_job_id'), ['job_id'])



def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sessions_job_id'), type_='unique')
        batch_op.drop_column('job_id')

    with op.batch_alter_table('analysis_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_jobs_status')
        batch_op.drop_index('ix_analysis_jobs_owner_created')

    op.drop_table('analysis_jobs')
