"""SQLAlchemy tables for the knowledge DB, aligned with Credential Engine's CTDL where it fits.

CTDL names in comments: Credential ~ ceterms:Credential, CreditRecommendation ~ a
ceterms:ConditionProfile with creditValue, Articulation ~ ceterms:isAdvancedStandingFor /
TransferValueProfile, CredentialOccupation ~ ceterms:isPreparationFor, TrainingProgram ~
ceterms:LearningOpportunityProfile (offered by a provider, leading to a credential),
ProgramOffering ~ its ceterms:availableAt places.

Every row of a catalog record names its source (``catalog_sources.name``), the URL its facts
came from and an as-of date: the date the source states, not the date we loaded it.
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


class CatalogSource(Base):
    """A catalog source this DB was built from (knowledge/sources/): credit line, data set URL."""

    __tablename__ = "catalog_sources"
    name = Column(String(40), primary_key=True)
    title = Column(String(200))
    credit = Column(Text)
    url = Column(String(500))
    as_of = Column(Date)
    records = Column(Integer)
    report = Column(JSON, default=dict)


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
    source = Column(String(40), default="curated")
    acronym = Column(String(40))
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
    # Provenance: which catalog source, and the date that source states for the facts.
    source = Column(String(40), default="curated", index=True)
    as_of = Column(Date)
    # Ids in other sources merged into this record, e.g. {"careeronestop": "12345"}.
    external_ids = Column(JSON, default=dict)
    cert_type = Column(String(20))  # CareerOneStop: core / advanced / specialty / product
    exam_required = Column(Boolean)
    training_required = Column(Boolean)
    renewal_years = Column(Float)
    ceu_required = Column(Boolean)
    exam_details = Column(Text)
    acronym = Column(String(40))
    quality_notes = Column(JSON, default=list)

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
    """A credential's occupation: stated by its source ("prepares you for"), or inferred from
    its text by the encoder ("related to"), with the similarity score and the rule used."""

    __tablename__ = "credential_occupations"
    credential_id = Column(ForeignKey("credentials.id"), primary_key=True)
    code = Column(ForeignKey("occupations.code"), primary_key=True)
    stated = Column(Boolean, default=True)
    score = Column(Float)
    rule = Column(String(40))
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


class TrainingProgram(Base):
    """A learning opportunity offered by a provider (an ETPL program), grouped over campuses.

    ``num`` shares the FAISS label space with ``credentials.num`` (programs follow credentials).
    ``credential_id`` is the credential record the program says it leads to, when we have it,
    with the rule and score of that match."""

    __tablename__ = "training_programs"
    id = Column(String(120), primary_key=True)
    num = Column(Integer, unique=True, index=True)
    provider_id = Column(ForeignKey("providers.id"), index=True)
    provider_type = Column(String(40))
    name = Column(String(300))
    description = Column(Text)
    url = Column(String(500))
    cip = Column(String(7), index=True)
    outcome = Column(String(40))
    credential_name = Column(String(300))
    credential_id = Column(ForeignKey("credentials.id"), index=True)
    credential_match_rule = Column(String(40))
    credential_match_score = Column(Float)
    hours = Column(Float)
    weeks = Column(Float)
    tuition_fees_usd = Column(Float)
    books_supplies_usd = Column(Float)
    required_cost_usd = Column(Float)
    optional_cost_usd = Column(Float)
    out_of_district_usd = Column(Float)
    cost_notes = Column(JSON, default=list)
    pell_eligible = Column(Boolean)
    prerequisites = Column(Text)
    apprentices = Column(Integer)
    source = Column(String(40), index=True)
    source_url = Column(String(500))
    as_of = Column(Date)
    quality_notes = Column(JSON, default=list)

    provider = relationship("Provider")
    offerings = relationship("ProgramOffering", cascade="all, delete-orphan")
    occupations = relationship("ProgramOccupation", cascade="all, delete-orphan")


class ProgramOffering(Base):
    """Where (or how) a program is offered: a campus with its address, or online."""

    __tablename__ = "program_offerings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    program_id = Column(ForeignKey("training_programs.id"), index=True)
    campus_id = Column(String(40))
    campus = Column(String(300))
    address = Column(String(300))
    city = Column(String(120), index=True)
    county = Column(String(120))
    state = Column(String(2))
    zip = Column(String(5), index=True)
    lat = Column(Float)
    lon = Column(Float)
    delivery = Column(String(40))
    transit = Column(Boolean)
    childcare = Column(Boolean)
    flexible_hours = Column(Boolean)
    source_program_id = Column(String(40))


class ProgramOccupation(Base):
    """An occupation a program prepares for: stated by the source (ETPL O*NET-SOC codes,
    ``rule`` "stated") or reached through its CIP code on the NCES CIP-SOC crosswalk
    (``rule`` "cip_crosswalk")."""

    __tablename__ = "program_occupations"
    program_id = Column(ForeignKey("training_programs.id"), primary_key=True)
    code = Column(ForeignKey("occupations.code"), primary_key=True)
    rule = Column(String(20), default="stated")
    occupation = relationship("Occupation")


class ProgramLadder(Base):
    """Within one provider, a shorter program that leads into a longer one in the same field
    (a certificate into an associate degree: same CIP, or same 4-digit CIP family)."""

    __tablename__ = "program_ladders"
    from_program = Column(ForeignKey("training_programs.id"), primary_key=True)
    to_program = Column(ForeignKey("training_programs.id"), primary_key=True)
    rule = Column(String(40))
