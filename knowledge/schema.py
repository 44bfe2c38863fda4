"""SQLAlchemy tables for the knowledge DB, aligned with Credential Engine's CTDL where it fits.

CTDL names in comments: Credential ~ ceterms:Credential, CreditRecommendation ~ a
ceterms:ConditionProfile with creditValue, Articulation ~ ceterms:isAdvancedStandingFor /
TransferValueProfile, CredentialOccupation ~ ceterms:isPreparationFor.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Meta(Base):
    """Key/value facts about the build (fingerprints, counts, build time)."""

    __tablename__ = "meta"
    key = Column(String(64), primary_key=True)
    value = Column(Text)


class Institution(Base):
    """A college tenant: its programs, articulations, branding and catalog subset."""

    __tablename__ = "institutions"
    id = Column(String(80), primary_key=True)
    name = Column(String(200))
    url = Column(String(500))
    example = Column(Boolean, default=False)
    branding = Column(JSON, default=dict)
    allowed_origins = Column(JSON, default=list)
    handoff_contact = Column(Text)


class Provider(Base):
    __tablename__ = "providers"
    id = Column(String(80), primary_key=True)
    name = Column(String(200))
    kind = Column(String(40))
    url = Column(String(500))
    credentials = relationship("Credential", back_populates="provider")


class Credential(Base):
    __tablename__ = "credentials"
    id = Column(String(120), primary_key=True)
    # Dense integer id used as the FAISS label (FAISS ids are int64).
    num = Column(Integer, unique=True, index=True)
    provider_id = Column(ForeignKey("providers.id"), index=True)
    institution_id = Column(ForeignKey("institutions.id"), index=True)
    name = Column(String(300))
    type = Column(String(40))
    description = Column(Text)
    url = Column(String(500))
    platform = Column(String(120))
    delivery = Column(JSON, default=list)
    level = Column(String(20))
    hours = Column(Float)
    weeks = Column(Float)
    cost_usd = Column(Float)
    cost_note = Column(Text)
    free = Column(Boolean, default=False)
    financial_aid = Column(Boolean, default=False)
    prerequisites = Column(Text)
    assessment = Column(JSON, default=list)
    verification = Column(Text)
    renewal = Column(Text)
    language = Column(String(10), default="en")
    source_url = Column(String(500))
    recorded = Column(Date)
    verified = Column(Boolean, default=False)

    provider = relationship("Provider", back_populates="credentials")
    skills = relationship("CredentialSkill", cascade="all, delete-orphan")
    occupations = relationship("CredentialOccupation", cascade="all, delete-orphan")
    recognitions = relationship("Recognition", cascade="all, delete-orphan")
    credit_recommendations = relationship("CreditRecommendation", cascade="all, delete-orphan")
    articulations = relationship("Articulation", cascade="all, delete-orphan")


class Skill(Base):
    """A canonical skill; duplicates across O*NET and ESCO are merged into one row."""

    __tablename__ = "skills"
    id = Column(String(160), primary_key=True)
    label = Column(String(200), index=True)
    type = Column(String(40))
    origin = Column(String(40))
    hot_technology = Column(Boolean, default=False)
    in_demand = Column(Boolean, default=False)
    esco_uri = Column(String(200))
    source_ids = Column(JSON, default=list)
    aliases = relationship("SkillAlias", cascade="all, delete-orphan")


class SkillAlias(Base):
    __tablename__ = "skill_aliases"
    id = Column(Integer, primary_key=True, autoincrement=True)
    skill_id = Column(ForeignKey("skills.id"), index=True)
    alias = Column(String(300), index=True)
    __table_args__ = (UniqueConstraint("skill_id", "alias"),)


class CredentialSkill(Base):
    __tablename__ = "credential_skills"
    credential_id = Column(ForeignKey("credentials.id"), primary_key=True)
    skill_id = Column(ForeignKey("skills.id"), primary_key=True)
    weight = Column(Float, default=1.0)
    skill = relationship("Skill")


class Occupation(Base):
    __tablename__ = "occupations"
    code = Column(String(12), primary_key=True)
    title = Column(String(200), index=True)
    description = Column(Text)
    job_zone = Column(Integer)
    typical_education = Column(Text)  # O*NET category descriptions run to ~300 characters
    median_wage_usd = Column(Float)
    titles = relationship("OccupationTitle", cascade="all, delete-orphan")


class OccupationTitle(Base):
    """Alternate titles (O*NET), used to match a learner's goal to an occupation."""

    __tablename__ = "occupation_titles"
    id = Column(Integer, primary_key=True, autoincrement=True)
    code = Column(ForeignKey("occupations.code"), index=True)
    title = Column(String(300), index=True)


class OccupationRelation(Base):
    """O*NET related occupations (tier and rank), for "what jobs are similar?"."""

    __tablename__ = "occupation_relations"
    code = Column(ForeignKey("occupations.code"), primary_key=True)
    related_code = Column(ForeignKey("occupations.code"), primary_key=True)
    tier = Column(String(40))
    rank = Column(Integer)


class OccupationSkill(Base):
    __tablename__ = "occupation_skills"
    code = Column(ForeignKey("occupations.code"), primary_key=True)
    skill_id = Column(ForeignKey("skills.id"), primary_key=True)
    importance = Column(Float)


class CredentialOccupation(Base):
    __tablename__ = "credential_occupations"
    credential_id = Column(ForeignKey("credentials.id"), primary_key=True)
    code = Column(ForeignKey("occupations.code"), primary_key=True)
    occupation = relationship("Occupation")


class Recognition(Base):
    __tablename__ = "recognitions"
    id = Column(Integer, primary_key=True, autoincrement=True)
    credential_id = Column(ForeignKey("credentials.id"), index=True)
    kind = Column(String(40))
    recognized_by = Column(Text)
    evidence = Column(Text)
    source_url = Column(String(500))
    recorded = Column(Date)


class CreditRecommendation(Base):
    __tablename__ = "credit_recommendations"
    id = Column(Integer, primary_key=True, autoincrement=True)
    credential_id = Column(ForeignKey("credentials.id"), index=True)
    issuer = Column(String(120))
    semester_hours = Column(Float)
    level = Column(String(40))
    subject = Column(Text)
    valid_from = Column(Date)
    valid_to = Column(Date)
    source_url = Column(String(500))
    recorded = Column(Date)


class DegreeProgram(Base):
    __tablename__ = "degree_programs"
    id = Column(String(120), primary_key=True)
    institution_id = Column(ForeignKey("institutions.id"), index=True)
    name = Column(String(300))
    level = Column(String(40))
    total_credits = Column(Float)
    cost_note = Column(Text)
    url = Column(String(500))
    source_url = Column(String(500))
    recorded = Column(Date)
    institution = relationship("Institution")


class Articulation(Base):
    __tablename__ = "articulations"
    id = Column(Integer, primary_key=True, autoincrement=True)
    credential_id = Column(ForeignKey("credentials.id"), index=True)
    program_id = Column(ForeignKey("degree_programs.id"), index=True)
    credits_awarded = Column(Float)
    requirement = Column(Text)
    kind = Column(String(40))
    source_url = Column(String(500))
    recorded = Column(Date)
    program = relationship("DegreeProgram")


class Pathway(Base):
    __tablename__ = "pathways"
    id = Column(String(120), primary_key=True)
    institution_id = Column(ForeignKey("institutions.id"))
    name = Column(String(300))
    steps = Column(JSON, default=list)
