"""Request and response bodies of the classroom's routes: a student's (``/class/*``) and the teacher's
(``/teacher/*``). Times are ISO 8601 in UTC (``2026-03-01T08:30:00.000Z``)."""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .schemas import STRICT

NICKNAME_MAX = 24
"""Characters of a nickname at most (after the blanks around it are trimmed)."""


class JoinRequest(BaseModel):
    model_config = ConfigDict(
        **STRICT, json_schema_extra={"examples": [{"code": "ABCD-EFGH", "nickname": "Blue Fox"}]}
    )

    code: str = Field(
        max_length=32,
        description="The class's join code as the teacher gave it: any case, with or without the dash or spaces.",
    )
    nickname: str = Field(
        max_length=200,
        description=f"What the class and the teacher see: 1 to {NICKNAME_MAX} characters (blanks around it "
        "are trimmed), no control characters. Not a full name.",
    )

    @field_validator("nickname")
    @classmethod
    def _nickname(cls, value: str) -> str:
        clean = value.strip()
        if not clean:
            raise ValueError("type a nickname")
        if len(clean) > NICKNAME_MAX:
            raise ValueError(f"a nickname is at most {NICKNAME_MAX} characters")
        if any(unicodedata.category(ch).startswith("C") for ch in clean):
            raise ValueError("a nickname cannot hold control characters")
        return clean


class StudentInfo(BaseModel):
    id: str = Field(description="The student's opaque id.")
    nickname: str


class ClassBrief(BaseModel):
    name: str
    mode: str = Field(description="answer, hints or quiz.")


class JoinResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    student: StudentInfo
    klass: ClassBrief = Field(alias="class")


class MeResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    classes: bool = Field(
        description="Whether this server has classes (then /chat needs a student's session)."
    )
    student: StudentInfo | None = Field(description="The student this browser's session is, or null.")
    klass: ClassBrief | None = Field(alias="class", description="Their class, or null.")


class LeaveResponse(BaseModel):
    left: bool = Field(description="Whether a session was ended (false: there was none).")


class ConversationInfo(BaseModel):
    id: str
    title: str = Field(description="The first question (80 characters at most).")
    started: str
    last: str = Field(description="When its last message was stored.")
    messages: int


class MessageInfo(BaseModel):
    id: int
    conversation_id: str
    role: str = Field(description="user or assistant.")
    text: str
    created: str
    sources: list[dict[str, Any]] = Field(description="A grounded answer's sources, as /chat gave them.")
    mode: str | None
    grounded: bool | None
    prompt_tokens: int | None
    completion_tokens: int | None
    first_token_s: float | None
    latency_s: float | None
    finish_reason: str | None = Field(
        description="stop, length, or for an answer cut short: client_left, engine_restart, stopping, error."
    )
    flags: list[str]


class ConversationDetail(BaseModel):
    conversation: ConversationInfo
    messages: list[MessageInfo]


class TeacherLogin(BaseModel):
    model_config = STRICT

    key: str = Field(
        min_length=1, max_length=200, description="The teacher key (`edubot class teacher-key`)."
    )


class TeacherSession(BaseModel):
    teacher: bool = Field(description="Whether this browser holds a teacher's session.")


class ClassStats(BaseModel):
    questions_today: int
    active_students: int
    ungrounded_answers: int
    refusals: int


class TeacherClass(BaseModel):
    id: str
    name: str
    code: str = Field(description="The join code, as students type it (ABCD-EFGH).")
    mode: str
    scope: list[str]
    daily_limit: int | None
    open: bool
    created: str
    stats: ClassStats = Field(description="Today's figures (this server's calendar day).")


class TeacherStudent(BaseModel):
    id: str
    nickname: str
    joined: str
    last_active: str | None
    messages: int
    flags: int = Field(description="Messages with a flag.")


class TeacherConversation(ConversationInfo):
    student_id: str
    nickname: str


class TeacherFlag(BaseModel):
    message_id: int
    conversation_id: str
    student_id: str
    nickname: str
    role: str = Field(description="user (the student's message) or assistant (an answer the filter cut).")
    text: str = Field(description="The message as stored: personal data masked ([phone], [email] ...).")
    created: str
    flags: list[str] = Field(description="Moderation's flags as category:severity (self_harm:high ...).")
    severity: str = Field(description="The strongest: high, medium or low.")
    categories: list[str]
    reviewed: bool = Field(description="Whether a teacher has marked it reviewed.")


class TeacherReviewed(BaseModel):
    message_id: int
    reviewed: bool
    flags: list[str]


class TeacherConversationDetail(BaseModel):
    conversation: TeacherConversation
    messages: list[MessageInfo]
