"""Initial schema: patients, therapists, prescriptions, sessions, sets, reps, form events, holds,
not-measurable intervals, angle series and session notes.

Datetimes are plain DateTime here (naive UTC); the models wrap them in UTCDateTime.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 10:14:43.286050

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('name', name=op.f('uq_patients_name'))
    )
    op.create_table('therapists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_therapists')),
    sa.UniqueConstraint('name', name=op.f('uq_therapists_name'))
    )
    op.create_table('prescriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('exercise_id', sa.String(length=100), nullable=False),
    sa.Column('reps', sa.Integer(), nullable=True),
    sa.Column('sets', sa.Integer(), nullable=True),
    sa.Column('hold_s', sa.Double(), nullable=True),
    sa.Column('rom_deg', sa.Double(), nullable=True),
    sa.Column('per_week', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('until_date', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('per_week IS NULL OR per_week > 0', name=op.f('ck_prescriptions_per_week_positive')),
    sa.CheckConstraint('reps IS NULL OR reps > 0', name=op.f('ck_prescriptions_reps_positive')),
    sa.CheckConstraint('sets IS NULL OR sets > 0', name=op.f('ck_prescriptions_sets_positive')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_prescriptions_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'], name=op.f('fk_prescriptions_therapist_id_therapists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriptions'))
    )
    op.create_index(op.f('ix_prescriptions_patient_exercise'), 'prescriptions', ['patient_id', 'exercise_id'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=True),
    sa.Column('exercise_id', sa.String(length=100), nullable=False),
    sa.Column('definition_hash', sa.String(length=128), nullable=False),
    sa.Column('definition_version', sa.String(length=50), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_sessions_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_sessions_prescription_id_prescriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_index(op.f('ix_sessions_patient_started'), 'sessions', ['patient_id', 'started_at'], unique=False)

    op.create_table('session_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('pain_0_10', sa.Integer(), nullable=True),
    sa.Column('effort_rpe_0_10', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('effort_rpe_0_10 IS NULL OR (effort_rpe_0_10 BETWEEN 0 AND 10)', name=op.f('ck_session_notes_effort_range')),
    sa.CheckConstraint('pain_0_10 IS NULL OR (pain_0_10 BETWEEN 0 AND 10)', name=op.f('ck_session_notes_pain_range')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_notes_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_notes'))
    )
    op.create_index(op.f('ix_session_notes_session_id'), 'session_notes', ['session_id'], unique=False)

    op.create_table('sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('target_reps', sa.Integer(), nullable=True),
    sa.Column('target_hold_s', sa.Double(), nullable=True),
    sa.Column('started_s', sa.Double(), nullable=True),
    sa.Column('ended_s', sa.Double(), nullable=True),
    sa.Column('ended_reason', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_sets_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sets')),
    sa.UniqueConstraint('session_id', 'index', name=op.f('uq_sets_session_id_index'))
    )
    op.create_index(op.f('ix_sets_session_id'), 'sets', ['session_id'], unique=False)

    op.create_table('angle_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=100), nullable=False),
    sa.Column('n_samples', sa.Integer(), nullable=False),
    sa.Column('times_s_f32', sa.LargeBinary(), nullable=False),
    sa.Column('values_f32', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['sets.id'], name=op.f('fk_angle_series_set_id_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_angle_series'))
    )
    op.create_index(op.f('ix_angle_series_set_id'), 'angle_series', ['set_id'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Double(), nullable=False),
    sa.Column('end_s', sa.Double(), nullable=False),
    sa.Column('duration_s', sa.Double(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['sets.id'], name=op.f('fk_holds_set_id_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds'))
    )
    op.create_index(op.f('ix_holds_set_id'), 'holds', ['set_id'], unique=False)

    op.create_table('not_measurable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Double(), nullable=False),
    sa.Column('end_s', sa.Double(), nullable=False),
    sa.Column('duration_s', sa.Double(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['sets.id'], name=op.f('fk_not_measurable_set_id_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_not_measurable'))
    )
    op.create_index(op.f('ix_not_measurable_set_id'), 'not_measurable', ['set_id'], unique=False)

    op.create_table('reps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('start_s', sa.Double(), nullable=False),
    sa.Column('end_s', sa.Double(), nullable=False),
    sa.Column('duration_s', sa.Double(), nullable=False),
    sa.Column('eccentric_s', sa.Double(), nullable=False),
    sa.Column('concentric_s', sa.Double(), nullable=False),
    sa.Column('measure', sa.String(length=100), nullable=False),
    sa.Column('min_value', sa.Double(), nullable=True),
    sa.Column('max_value', sa.Double(), nullable=True),
    sa.Column('range_of_motion', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['sets.id'], name=op.f('fk_reps_set_id_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reps')),
    sa.UniqueConstraint('set_id', 'index', name=op.f('uq_reps_set_id_index'))
    )
    op.create_index(op.f('ix_reps_set_id'), 'reps', ['set_id'], unique=False)

    op.create_table('form_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('rep_index', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('cue', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('time_s', sa.Double(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_form_events_rep_id_reps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_id'], ['sets.id'], name=op.f('fk_form_events_set_id_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_events'))
    )
    op.create_index(op.f('ix_form_events_rep_id'), 'form_events', ['rep_id'], unique=False)
    op.create_index(op.f('ix_form_events_set_id'), 'form_events', ['set_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_form_events_set_id'), table_name='form_events')
    op.drop_index(op.f('ix_form_events_rep_id'), table_name='form_events')
    op.drop_table('form_events')
    op.drop_index(op.f('ix_reps_set_id'), table_name='reps')
    op.drop_table('reps')
    op.drop_index(op.f('ix_not_measurable_set_id'), table_name='not_measurable')
    op.drop_table('not_measurable')
    op.drop_index(op.f('ix_holds_set_id'), table_name='holds')
    op.drop_table('holds')
    op.drop_index(op.f('ix_angle_series_set_id'), table_name='angle_series')
    op.drop_table('angle_series')
    op.drop_index(op.f('ix_sets_session_id'), table_name='sets')
    op.drop_table('sets')
    op.drop_index(op.f('ix_session_notes_session_id'), table_name='session_notes')
    op.drop_table('session_notes')
    op.drop_index(op.f('ix_sessions_patient_started'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_index(op.f('ix_prescriptions_patient_exercise'), table_name='prescriptions')
    op.drop_table('prescriptions')
    op.drop_table('therapists')
    op.drop_table('patients')
