"""Users and API tokens for the HTTP API; a patient's owning therapist.

- ``patients.therapist_id``: the therapist who looks after the patient (NULL: nobody yet).
- ``users``: who signs in (role therapist or patient, linked to that row).
- ``api_tokens``: sha256 of each bearer token's secret, with its expiry.

Revision ID: 0003_users_tokens
Revises: 0001
Create Date: 2026-11-24 10:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003_users_tokens'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('therapist_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patients_therapist_id'), ['therapist_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patients_therapist_id_therapists'), 'therapists',
                                    ['therapist_id'], ['id'], ondelete='SET NULL')

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('therapist', 'patient')", name=op.f('ck_users_role_known')),
    sa.CheckConstraint(
        "(role = 'therapist' AND therapist_id IS NOT NULL AND patient_id IS NULL) OR "
        "(role = 'patient' AND patient_id IS NOT NULL AND therapist_id IS NULL)",
        name=op.f('ck_users_role_link')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_users_patient_id_patients'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'], name=op.f('fk_users_therapist_id_therapists'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_users_patient_id')),
    sa.UniqueConstraint('therapist_id', name=op.f('uq_users_therapist_id'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patients_therapist_id_therapists'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patients_therapist_id'))
        batch_op.drop_column('therapist_id')
