"""The classroom store: classes, students and their sessions, the teacher key, conversations, messages, feedback;
export, purge and retention. One object (``Store``) over SQLAlchemy Core, on SQLite by default (one file,
``<data_dir>/edubot.sqlite3``, WAL) or on PostgreSQL by ``database_url``.

Threads: one ``Store`` is shared by a writer thread and any number of readers (the server reads from handlers
through ``asyncio.to_thread``). Every method is one short transaction on a pooled connection. On SQLite, writes
take an in-process lock and then the database's write lock (``BEGIN IMMEDIATE``, waiting up to the busy timeout
for another process such as `edubot class close`), so that concurrent writers queue instead of failing with
"database is locked"; readers never wait for writers (WAL).

Secrets: session tokens and the teacher key are random (``codes.new_token``) and stored only as SHA-256; the
token is handed out once. Students are a nickname and an opaque id; a nickname is held only while its student has a
live session, and a released nickname never leads back to the old student (their conversations stay theirs).

SQLAlchemy is imported inside the methods (and ``schema``, which imports it, too): importing this module stays
cheap for the CLI.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ClassroomError, ConfigError
from . import codes, validate
from .validate import BadNickname

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine, Row

    from ..config import Settings

__all__ = [
    "FINISH_REASONS",
    "ROLES",
    "BadNickname",
    "ClassClosed",
    "ClassInfo",
    "ClassroomError",
    "ConversationSummary",
    "DuplicateClass",
    "MessageRecord",
    "NicknameTaken",
    "Seat",
    "Store",
    "Student",
    "StudentSummary",
    "UnknownClass",
    "UnknownCode",
    "UnknownMessage",
    "UnknownStudent",
    "database_url",
]

SQLITE_FILE = "edubot.sqlite3"
BUSY_TIMEOUT_S = 30.0
"""How long a SQLite write waits for another process's write lock (`edubot class purge` beside the server)."""
POOL_SIZE, POOL_OVERFLOW = 4, 36
"""Connections one store keeps open, and opens beyond that under load (40 at most: the server's writer thread and
its handlers' thread pool; a PostgreSQL server allows 100 by default, shared by every backend)."""
STUDENT_SESSION_TTL = timedelta(days=30)
TEACHER_SESSION_TTL = timedelta(hours=12)
ROLES = ("user", "assistant")
FINISH_REASONS = ("stop", "length", "client_left", "engine_restart", "stopping", "error")
TITLE_CHARS = 80
_MESSAGE_FIELDS = (
    "sources",
    "mode",
    "grounded",
    "prompt_tokens",
    "completion_tokens",
    "first_token_s",
    "latency_s",
    "finish_reason",
    "flags",
    "created",
)
NewMessage = tuple[str, str, str, Mapping[str, Any]]
"""A message to record: its conversation's id, role, text and ``add_message``'s fields."""


class UnknownCode(ClassroomError):
    """A join code that no class has (never had, or rotated away)."""


class ClassClosed(ClassroomError):
    """A class that the teacher closed: no joining, no sessions."""


class NicknameTaken(ClassroomError):
    """A nickname held by a student of the class with a live session (compared without case)."""


class UnknownClass(ClassroomError):
    """A class name that is not in the store."""


class DuplicateClass(ClassroomError):
    """A class name already in use (compared without case)."""


class UnknownStudent(ClassroomError):
    """A student (id or nickname) that is not in the store or not in that class."""


class UnknownMessage(ClassroomError):
    """A message id that is not in the store, or not of that student."""


@dataclass(frozen=True)
class ClassInfo:
    """A class. ``code`` is the join code as shown (``ABCD-EFGH``)."""

    id: str
    name: str
    code: str
    mode: str
    scope: tuple[str, ...]
    daily_limit: int | None
    open: bool
    created: datetime


@dataclass(frozen=True)
class Student:
    id: str
    class_id: str
    nickname: str
    created: datetime


@dataclass(frozen=True)
class Seat:
    """A valid student session: who, in which (open) class."""

    student: Student
    klass: ClassInfo


@dataclass(frozen=True)
class MessageRecord:
    id: int
    conversation_id: str
    role: str
    text: str
    created: datetime
    sources: list[dict[str, Any]] = field(default_factory=list)
    mode: str | None = None
    grounded: bool | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    latency_s: float | None = None
    finish_reason: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StudentSummary:
    student: Student
    last_active: datetime | None
    messages: int
    flags: int


@dataclass(frozen=True)
class FlaggedMessage:
    """A message moderation flagged (a ``category:severity`` flag, ``self_harm:high``), for the teacher: who wrote
    it, where, its safety flags, and whether a teacher has marked it ``reviewed``."""

    message: MessageRecord
    student_id: str
    nickname: str

    @property
    def safety_flags(self) -> list[str]:
        return [f for f in self.message.flags if ":" in f]

    @property
    def reviewed(self) -> bool:
        return REVIEWED in self.message.flags


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    student_id: str
    started: datetime
    last: datetime
    title: str
    messages: int


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the store: ``database_url`` (``postgresql://`` and ``postgres://`` are taken as
    psycopg 3's ``postgresql+psycopg://``), else the SQLite file in ``data_dir``."""
    url = settings.database_url
    if url:
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
    return f"sqlite:///{(Path(settings.data_dir) / SQLITE_FILE).absolute()}"


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL may still hold a password: show none of it
        return "<database_url>"


def _new_id() -> str:
    return secrets.token_hex(16)


def new_conversation_id() -> str:
    """An id for a conversation that ``Store.new_conversation`` will make (unguessable): the server hands it to
    the student at once and the record makes the row with the first exchange, off the answer's path."""
    return _new_id()


def _title(text: str | None) -> str:
    clean = " ".join((text or "").split())
    return clean if len(clean) <= TITLE_CHARS else clean[: TITLE_CHARS - 1] + "…"


def _local_day(day: date) -> tuple[datetime, datetime]:
    """The start and end of ``day`` on this machine's clock, as aware times."""
    start = datetime.combine(day, time.min).astimezone()
    end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    return start, end


REVIEWED = "reviewed"
"""The flag a teacher adds to a flagged message once they have looked at it (``Store.review``)."""


def _flags_text() -> Any:
    """``messages.flags`` as the JSON text it is stored as, so that comparisons bind plain text."""
    import sqlalchemy as sa

    from .schema import messages

    return sa.type_coerce(messages.c.flags, sa.Text())


def _sqlite_engine(url: str, file: Path) -> Engine:
    import sqlalchemy as sa

    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=BUSY_TIMEOUT_S,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN (deferred) late and never IMMEDIATE: do it ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL with synchronous=NORMAL: a commit survives a crash of edubot (not of the machine), fsyncs are rare
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("edubot_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Store:
    """The classroom record. Get one with ``Store.open(settings)`` (or ``Store.connect(url)``); ``close()`` it, or
    use it as a context manager."""

    student_session_ttl = STUDENT_SESSION_TTL
    teacher_session_ttl = TEACHER_SESSION_TTL

    def __init__(self, engine: Engine, url: str, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self.url = _masked(url)
        self.dialect: str = engine.dialect.name
        self._clock = clock or (lambda: datetime.now(UTC))
        # SQLite has one writer at a time: queue this process's writers here rather than in its busy handler.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )
        self._batch = threading.local()  # the write transaction a ``transaction()`` block holds, per thread

    # -- opening ------------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Store:
        """The store of ``settings`` (``database_url``, else ``<data_dir>/edubot.sqlite3``, its folder created),
        migrated to the newest schema."""
        url = database_url(settings)
        if not settings.database_url:
            folder = Path(settings.data_dir)
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the data folder {folder}: {exc.strerror}",
                    hint="set data_dir to a folder edubot may write",
                ) from exc
        return cls.connect(url, clock=clock)

    @classmethod
    def connect(cls, url: str, *, clock: Callable[[], datetime] | None = None, migrate: bool = True) -> Store:
        """The store at a SQLAlchemy URL, migrated to the newest schema (unless ``migrate`` is false: tests)."""
        import sqlalchemy as sa
        from alembic.util.exc import CommandError

        from . import migrate as migrations

        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(
                "database_url is not a database URL",
                hint="write a SQLAlchemy URL: postgresql+psycopg://user:password@host/db, or leave it empty",
            ) from exc
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"unsupported database {parsed.get_backend_name()!r} in database_url",
                hint="use PostgreSQL (postgresql+psycopg://…) or leave database_url empty for SQLite",
            )
        file = Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None
        try:
            if file is not None:
                created = not file.exists()
                engine = _sqlite_engine(url, file)
            else:
                created = False
                engine = sa.create_engine(
                    url,
                    pool_size=POOL_SIZE,
                    max_overflow=POOL_OVERFLOW,
                    pool_timeout=BUSY_TIMEOUT_S,
                    pool_pre_ping=True,
                )
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise ConfigError(
                f"invalid database_url {_masked(url)!r}: {exc}",
                hint="write a SQLAlchemy URL: postgresql+psycopg://user:password@host/db, or leave it empty",
            ) from exc
        try:
            if migrate:
                migrations.upgrade(engine)
            else:
                engine.connect().close()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ClassroomError(
                f"cannot open the classroom database {_masked(url)}: {reason}",
                hint="check database_url and that its server runs"
                if file is None
                else "check that data_dir is a folder edubot may write",
            ) from exc
        except CommandError as exc:
            engine.dispose()
            raise ClassroomError(
                f"the classroom database {_masked(url)} has a schema this edubot does not know ({exc})",
                hint="upgrade edubot to the version that wrote it",
            ) from exc
        if created and file is not None and file.exists():
            file.chmod(0o600)  # children's conversations: readable by this user only
        return cls(engine, url, clock)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (tests, benchmarks)."""
        return self._engine

    def _now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (SQLite: queued behind this process's other writers, then ``BEGIN IMMEDIATE``);
        inside a ``transaction()`` block, that block's."""
        held = getattr(self._batch, "conn", None)
        if held is not None:
            yield held
            return
        with self._write_lock, self._engine.connect() as conn:
            conn.execution_options(edubot_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes of this block, in this thread, as one transaction: all stored, or none (the recorder's
        batches: one commit for many messages costs a class's answers far less than one commit each)."""
        if getattr(self._batch, "conn", None) is not None:
            yield
            return
        with self._write() as conn:
            self._batch.conn = conn
            try:
                yield
            finally:
                self._batch.conn = None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot, never waiting for a writer."""
        with self._engine.connect() as conn, conn.begin():
            yield conn

    # -- classes --------------------------------------------------------------------------------------------------

    @staticmethod
    def _class_info(row: Row[Any]) -> ClassInfo:
        m = row._mapping
        return ClassInfo(
            id=m["id"],
            name=m["name"],
            code=codes.format_code(m["code"]),
            mode=m["mode"],
            scope=tuple(m["scope"]),
            daily_limit=m["daily_limit"],
            open=bool(m["is_open"]),
            created=m["created"],
        )

    def _class_row(self, conn: Connection, name: str) -> Row[Any]:
        from .schema import classes

        row = conn.execute(classes.select().where(classes.c.name_key == validate.name_key(name))).first()
        if row is None:
            raise UnknownClass(f"no class named {name!r}", hint="`edubot class list` shows the classes")
        return row

    def _free_code(self, conn: Connection) -> str:
        import sqlalchemy as sa

        from .schema import classes

        while True:  # 31^8 codes: a clash is a once-in-a-lifetime event, but it must not reuse a live code
            code = codes.new_code()
            if conn.execute(sa.select(classes.c.id).where(classes.c.code == code)).first() is None:
                return code

    def create_class(
        self,
        name: str,
        *,
        mode: str = "answer",
        scope: tuple[str, ...] | list[str] = (),
        daily_limit: int | None = None,
    ) -> ClassInfo:
        """A new, open class with a fresh join code. The name is unique (without case)."""
        import sqlalchemy as sa

        from .schema import classes

        clean = validate.class_name(name)
        values = {
            "id": _new_id(),
            "name": clean,
            "name_key": validate.name_key(clean),
            "mode": validate.mode(mode),
            "scope": list(validate.scope(scope)),
            "daily_limit": validate.daily_limit(daily_limit),
            "is_open": True,
            "created": self._now(),
        }
        duplicate = DuplicateClass(
            f"a class named {clean!r} already exists",
            hint="pick another name; `edubot class list` shows the classes",
        )
        try:
            with self._write() as conn:
                taken = conn.execute(sa.select(classes.c.id).where(classes.c.name_key == values["name_key"]))
                if taken.first() is not None:
                    raise duplicate
                values["code"] = self._free_code(conn)
                conn.execute(classes.insert().values(**values))
                return self._class_info(self._class_row(conn, clean))
        except sa.exc.IntegrityError as exc:  # another backend made it between our check and insert
            raise duplicate from exc

    def classes(self) -> list[ClassInfo]:
        """Every class, oldest first."""
        from .schema import classes

        with self._read() as conn:
            rows = conn.execute(classes.select().order_by(classes.c.created, classes.c.name_key)).all()
        return [self._class_info(row) for row in rows]

    def get_class(self, name: str) -> ClassInfo:
        """The class named ``name`` (case aside); ``UnknownClass`` otherwise."""
        with self._read() as conn:
            return self._class_info(self._class_row(conn, name))

    def get_class_by_id(self, class_id: str) -> ClassInfo | None:
        """The class with this id, or None."""
        from .schema import classes

        with self._read() as conn:
            row = conn.execute(classes.select().where(classes.c.id == class_id)).first()
        return None if row is None else self._class_info(row)

    def has_classes(self) -> bool:
        """Whether any class is defined, open or closed (the server's classroom mode)."""
        import sqlalchemy as sa

        from .schema import classes

        with self._read() as conn:
            return conn.execute(sa.select(classes.c.id).limit(1)).first() is not None

    def set_open(self, name: str, is_open: bool) -> ClassInfo:
        """Open or close a class. Closing ends every session of its students at once (and frees their
        nicknames)."""
        import sqlalchemy as sa

        from .schema import classes, sessions, students

        with self._write() as conn:
            row = self._class_row(conn, name)
            conn.execute(classes.update().where(classes.c.id == row.id).values(is_open=is_open))
            if not is_open:
                members = sa.select(students.c.id).where(students.c.class_id == row.id)
                conn.execute(sessions.delete().where(sessions.c.student_id.in_(members)))
                conn.execute(students.update().where(students.c.class_id == row.id).values(nickname_key=None))
            return self._class_info(self._class_row(conn, name))

    def rotate_code(self, name: str) -> ClassInfo:
        """Give the class a new join code; the old one stops working at once (sessions already made stay)."""
        from .schema import classes

        with self._write() as conn:
            row = self._class_row(conn, name)
            conn.execute(classes.update().where(classes.c.id == row.id).values(code=self._free_code(conn)))
            return self._class_info(self._class_row(conn, name))

    # -- the teacher key ------------------------------------------------------------------------------------------

    def teacher_key_info(self) -> datetime | None:
        """When the current teacher key was made; None if there is none."""
        import sqlalchemy as sa

        from .schema import teacher_keys

        with self._read() as conn:
            return conn.execute(sa.select(sa.func.max(teacher_keys.c.created))).scalar()

    def new_teacher_key(self) -> str:
        """Make a new teacher key (returned once, stored hashed), replacing any old one and ending every teacher
        session."""
        from .schema import teacher_keys, teacher_sessions

        key = codes.new_token()
        with self._write() as conn:
            conn.execute(teacher_keys.delete())
            conn.execute(teacher_sessions.delete())
            conn.execute(teacher_keys.insert().values(key_hash=codes.token_hash(key), created=self._now()))
        return key

    def teacher_login(self, key: str) -> str | None:
        """A new teacher session token for the right key; None for a wrong one (or when no key exists)."""
        import hmac

        import sqlalchemy as sa

        from .schema import teacher_keys, teacher_sessions

        digest = codes.token_hash(key)
        with self._write() as conn:
            stored = conn.execute(sa.select(teacher_keys.c.key_hash)).scalars().all()
            if not any(hmac.compare_digest(digest, other) for other in stored):
                return None
            token = codes.new_token()
            now = self._now()
            conn.execute(
                teacher_sessions.insert().values(
                    token_hash=codes.token_hash(token), created=now, expires=now + self.teacher_session_ttl
                )
            )
        return token

    def teacher_session(self, token: str) -> bool:
        """Whether ``token`` is a live teacher session."""
        import sqlalchemy as sa

        from .schema import teacher_sessions

        with self._read() as conn:
            row = conn.execute(
                sa.select(teacher_sessions.c.token_hash).where(
                    teacher_sessions.c.token_hash == codes.token_hash(token),
                    teacher_sessions.c.expires > self._now(),
                )
            ).first()
        return row is not None

    def teacher_logout(self, token: str) -> None:
        """End a teacher session (nothing happens for an unknown token)."""
        from .schema import teacher_sessions

        with self._write() as conn:
            conn.execute(
                teacher_sessions.delete().where(teacher_sessions.c.token_hash == codes.token_hash(token))
            )

    # -- students -------------------------------------------------------------------------------------------------

    @staticmethod
    def _student(m: Any) -> Student:
        return Student(id=m["id"], class_id=m["class_id"], nickname=m["nickname"], created=m["created"])

    def join(self, code: str, nickname: str) -> tuple[Seat, str]:
        """A student joins the class of ``code`` as ``nickname``: (their seat, a new session token, shown once).

        ``UnknownCode`` (no such code, or not a code at all), ``ClassClosed``, ``BadNickname``, ``NicknameTaken`` (a
        student of the class with a live session holds it, case aside)."""
        import sqlalchemy as sa

        from .schema import classes, sessions, students

        plain = codes.normalize_code(code)
        unknown = UnknownCode(
            "no class has this code",
            hint="check the code your teacher gave (8 letters and digits, like ABCD-EFGH)",
        )
        if plain is None:
            raise unknown
        nick = validate.nickname(nickname)
        key = nick.casefold()
        taken = NicknameTaken(
            f"the nickname {nick!r} is taken in this class",
            hint="pick another nickname (add a letter or a number)",
        )
        now = self._now()
        token = codes.new_token()
        try:
            with self._write() as conn:
                row = conn.execute(classes.select().where(classes.c.code == plain)).first()
                if row is None:
                    raise unknown
                klass = self._class_info(row)
                if not klass.open:
                    raise ClassClosed(
                        f"the class {klass.name!r} is closed", hint="ask your teacher to open it again"
                    )
                holder = conn.execute(
                    sa.select(students.c.id).where(
                        students.c.class_id == klass.id, students.c.nickname_key == key
                    )
                ).first()
                if holder is not None:
                    live = conn.execute(
                        sa.select(sessions.c.token_hash).where(
                            sessions.c.student_id == holder.id, sessions.c.expires > now
                        )
                    ).first()
                    if live is not None:
                        raise taken
                    conn.execute(
                        students.update().where(students.c.id == holder.id).values(nickname_key=None)
                    )
                student = Student(id=_new_id(), class_id=klass.id, nickname=nick, created=now)
                conn.execute(
                    students.insert().values(
                        id=student.id, class_id=klass.id, nickname=nick, nickname_key=key, created=now
                    )
                )
                conn.execute(
                    sessions.insert().values(
                        token_hash=codes.token_hash(token),
                        student_id=student.id,
                        created=now,
                        expires=now + self.student_session_ttl,
                    )
                )
        except sa.exc.IntegrityError as exc:  # another backend took the nickname between our check and insert
            raise taken from exc
        return Seat(student=student, klass=klass), token

    def seat(self, token: str) -> Seat | None:
        """The seat of a student session token; None for an unknown or expired token, or a closed class."""
        import sqlalchemy as sa

        from .schema import classes, sessions, students

        query = (
            sa.select(
                students.c.id.label("student_id"),
                students.c.nickname,
                students.c.created.label("student_created"),
                *classes.c,
            )
            .select_from(sessions.join(students).join(classes))
            .where(sessions.c.token_hash == codes.token_hash(token), sessions.c.expires > self._now())
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        klass = self._class_info(row)
        if not klass.open:
            return None
        m = row._mapping
        student = Student(
            id=m["student_id"], class_id=klass.id, nickname=m["nickname"], created=m["student_created"]
        )
        return Seat(student=student, klass=klass)

    def leave(self, token: str) -> None:
        """End a student session; with no other live session, their nickname is free again."""
        import sqlalchemy as sa

        from .schema import sessions, students

        digest = codes.token_hash(token)
        with self._write() as conn:
            owner = conn.execute(
                sa.select(sessions.c.student_id).where(sessions.c.token_hash == digest)
            ).scalar()
            if owner is None:
                return
            conn.execute(sessions.delete().where(sessions.c.token_hash == digest))
            others = conn.execute(
                sa.select(sessions.c.token_hash).where(
                    sessions.c.student_id == owner, sessions.c.expires > self._now()
                )
            ).first()
            if others is None:
                conn.execute(students.update().where(students.c.id == owner).values(nickname_key=None))

    def student(self, student_id: str) -> Student | None:
        """The student with this id, or None."""
        from .schema import students

        with self._read() as conn:
            row = conn.execute(students.select().where(students.c.id == student_id)).first()
        return None if row is None else self._student(row._mapping)

    # -- conversations and messages -------------------------------------------------------------------------------

    def new_conversation(
        self, student_id: str, conversation_id: str | None = None, started: datetime | None = None
    ) -> str:
        """A new, empty conversation of the student; its id (unguessable). Given ``conversation_id`` (from
        ``new_conversation_id``) that already is the student's, nothing changes; someone else's is refused."""
        import sqlalchemy as sa

        from .schema import conversations, students

        conversation_id = conversation_id or _new_id()
        with self._write() as conn:
            if conn.execute(sa.select(students.c.id).where(students.c.id == student_id)).first() is None:
                raise UnknownStudent(f"no student with id {student_id!r}", hint="join the class again")
            owner = conn.execute(
                sa.select(conversations.c.student_id).where(conversations.c.id == conversation_id)
            ).first()
            if owner is not None:
                if owner[0] != student_id:
                    raise ClassroomError(
                        f"conversation {conversation_id} is another student's",
                        hint="start a new conversation",
                    )
                return conversation_id
            conn.execute(
                conversations.insert().values(
                    id=conversation_id, student_id=student_id, started=started or self._now()
                )
            )
        return conversation_id

    def _conversation_query(self) -> Any:
        import sqlalchemy as sa

        from .schema import conversations, messages

        per = (
            sa.select(
                messages.c.conversation_id,
                sa.func.count(messages.c.id).label("n"),
                sa.func.max(messages.c.created).label("last"),
            )
            .group_by(messages.c.conversation_id)
            .subquery()
        )
        first_question = (
            sa.select(messages.c.text)
            .where(messages.c.conversation_id == conversations.c.id, messages.c.role == "user")
            .order_by(messages.c.id)
            .limit(1)
            .scalar_subquery()
        )
        last = sa.func.coalesce(per.c.last, conversations.c.started)
        return (
            sa.select(
                conversations.c.id,
                conversations.c.student_id,
                conversations.c.started,
                last.label("last"),
                sa.func.coalesce(per.c.n, 0).label("n"),
                first_question.label("title"),
            )
            .select_from(conversations.outerjoin(per, per.c.conversation_id == conversations.c.id))
            .order_by(last.desc(), conversations.c.id)
        )

    @staticmethod
    def _conversation(m: Any) -> ConversationSummary:
        last = m["last"]
        if isinstance(last, str):  # coalesce() over SQLite text: parse as the column type would
            last = datetime.fromisoformat(last).replace(tzinfo=UTC)
        return ConversationSummary(
            id=m["id"],
            student_id=m["student_id"],
            started=m["started"],
            last=last,
            title=_title(m["title"]),
            messages=int(m["n"]),
        )

    def conversation_of(self, conversation_id: str, student_id: str) -> ConversationSummary | None:
        """The conversation if it is this student's; None otherwise (unknown id or someone else's alike)."""
        from .schema import conversations

        query = self._conversation_query().where(
            conversations.c.id == conversation_id, conversations.c.student_id == student_id
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else self._conversation(row._mapping)

    def conversation(self, conversation_id: str) -> ConversationSummary | None:
        """Any conversation by id (the teacher's view); None if unknown."""
        from .schema import conversations

        with self._read() as conn:
            row = conn.execute(
                self._conversation_query().where(conversations.c.id == conversation_id)
            ).first()
        return None if row is None else self._conversation(row._mapping)

    def add_message(self, conversation_id: str, role: str, text: str, **fields: Any) -> int:
        """Record one message (``fields`` as ``MessageRecord``'s: sources, mode, grounded, prompt_tokens,
        completion_tokens, first_token_s, latency_s, finish_reason, flags; ``created`` defaults to now); its id."""
        import sqlalchemy as sa

        from .schema import messages

        values = self._message_values(conversation_id, role, text, fields)
        try:
            with self._write() as conn:
                result = conn.execute(messages.insert().values(**values))
        except sa.exc.IntegrityError as exc:
            raise ClassroomError(
                f"no conversation with id {conversation_id!r}", hint="start a new conversation"
            ) from exc
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def _message_values(
        self, conversation_id: str, role: str, text: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The row of a new message, its ``fields`` checked (see ``add_message``)."""
        unknown = sorted(set(fields) - set(_MESSAGE_FIELDS))
        if unknown:
            raise TypeError(f"add_message() got unexpected fields: {', '.join(unknown)}")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        reason = fields.get("finish_reason")
        if reason is not None and reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {FINISH_REASONS}, not {reason!r}")
        return {
            "conversation_id": conversation_id,
            "role": role,
            "text": text,
            **{name: fields.get(name) for name in _MESSAGE_FIELDS},
            "sources": list(fields.get("sources") or []),
            "flags": list(fields.get("flags") or []),
            "created": fields.get("created") or self._now(),
        }

    def add_messages(self, student_id: Mapping[str, str], rows: Sequence[NewMessage]) -> list[int]:
        """Record many messages in one transaction and one statement (the recorder's batches): each
        ``(conversation_id, role, text, fields)`` as ``add_message`` takes them; their ids, in order. A
        conversation not yet stored is made first, as the student's that ``student_id`` maps it to, started when
        its first message here was created; one that is another student's is refused (``ClassroomError``, and
        nothing is stored)."""
        import sqlalchemy as sa

        from .schema import conversations, messages

        values = [self._message_values(*row) for row in rows]
        if not values:
            return []
        started: dict[str, datetime] = {}
        for row in values:
            started.setdefault(row["conversation_id"], row["created"])
        try:
            with self._write() as conn:
                owners = dict(
                    conn.execute(
                        sa.select(conversations.c.id, conversations.c.student_id).where(
                            conversations.c.id.in_(list(started))
                        )
                    ).all()
                )
                for conversation_id, owner in owners.items():
                    if owner != student_id[conversation_id]:
                        raise ClassroomError(
                            f"conversation {conversation_id} is another student's",
                            hint="start a new conversation",
                        )
                missing = [
                    {"id": cid, "student_id": student_id[cid], "started": when}
                    for cid, when in started.items()
                    if cid not in owners
                ]
                if missing:
                    conn.execute(conversations.insert(), missing)
                found = conn.execute(
                    messages.insert().returning(messages.c.id, sort_by_parameter_order=True), values
                )
                return [int(message_id) for message_id in found.scalars()]
        except sa.exc.IntegrityError as exc:
            raise ClassroomError(
                "a message's conversation or student is no longer in the record", hint="join the class again"
            ) from exc

    def flag_message(self, message_id: int, *flags: str) -> list[str]:
        """Add flags to a message (kept once each, sorted); its flags now."""
        import sqlalchemy as sa

        from .schema import messages

        with self._write() as conn:
            current = conn.execute(sa.select(messages.c.flags).where(messages.c.id == message_id)).first()
            if current is None:
                raise UnknownMessage(f"no message with id {message_id}")
            merged = sorted(set(current.flags) | set(flags))
            conn.execute(messages.update().where(messages.c.id == message_id).values(flags=merged))
        return merged

    def flagged(self, class_id: str) -> list[FlaggedMessage]:
        """A class's messages that moderation flagged (a ``category:severity`` flag), the newest first."""
        import sqlalchemy as sa

        from .schema import conversations, messages, students

        query = (
            sa.select(*messages.c, students.c.id.label("student_id"), students.c.nickname)
            .select_from(messages.join(conversations).join(students))
            .where(students.c.class_id == class_id, _flags_text().contains(":"))
            .order_by(messages.c.created.desc(), messages.c.id.desc())
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        found = [FlaggedMessage(self._message(row._mapping), row.student_id, row.nickname) for row in rows]
        return [f for f in found if f.safety_flags]

    def review(self, message_id: int) -> list[str]:
        """Mark a flagged message ``reviewed`` (a teacher has looked at it); its flags now. ``UnknownMessage`` for
        an id that is not a message."""
        return self.flag_message(message_id, REVIEWED)

    def conversations(
        self, *, student_id: str | None = None, class_id: str | None = None
    ) -> list[ConversationSummary]:
        """Conversations, the most recently active first: a student's, a class's, or all."""
        import sqlalchemy as sa

        from .schema import conversations, students

        query = self._conversation_query()
        if student_id is not None:
            query = query.where(conversations.c.student_id == student_id)
        if class_id is not None:
            members = sa.select(students.c.id).where(students.c.class_id == class_id)
            query = query.where(conversations.c.student_id.in_(members))
        with self._read() as conn:
            return [self._conversation(row._mapping) for row in conn.execute(query)]

    @staticmethod
    def _message(m: Any) -> MessageRecord:
        return MessageRecord(
            id=int(m["id"]),
            conversation_id=m["conversation_id"],
            role=m["role"],
            text=m["text"],
            created=m["created"],
            sources=list(m["sources"]),
            mode=m["mode"],
            grounded=None if m["grounded"] is None else bool(m["grounded"]),
            prompt_tokens=m["prompt_tokens"],
            completion_tokens=m["completion_tokens"],
            first_token_s=m["first_token_s"],
            latency_s=m["latency_s"],
            finish_reason=m["finish_reason"],
            flags=list(m["flags"]),
        )

    def messages(self, conversation_id: str) -> list[MessageRecord]:
        """The messages of a conversation, in order."""
        from .schema import messages

        query = messages.select().where(messages.c.conversation_id == conversation_id).order_by(messages.c.id)
        with self._read() as conn:
            return [self._message(row._mapping) for row in conn.execute(query)]

    def students(self, class_id: str) -> list[StudentSummary]:
        """The students of a class (those who joined and were not purged), with their last activity, message
        count and flagged messages; by nickname, then by when they joined."""
        import sqlalchemy as sa

        from .schema import conversations, messages, students

        per = (
            sa.select(
                conversations.c.student_id,
                sa.func.count(messages.c.id).label("n"),
                sa.func.max(messages.c.created).label("last"),
                sa.func.sum(sa.case((_flags_text() != "[]", 1), else_=0)).label("flagged"),
            )
            .select_from(conversations.join(messages))
            .group_by(conversations.c.student_id)
            .subquery()
        )
        query = (
            sa.select(*students.c, per.c.n, per.c.last, per.c.flagged)
            .select_from(students.outerjoin(per, per.c.student_id == students.c.id))
            .where(students.c.class_id == class_id)
            .order_by(sa.func.lower(students.c.nickname), students.c.created)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            StudentSummary(
                student=self._student(row._mapping),
                last_active=row.last,
                messages=int(row.n or 0),
                flags=int(row.flagged or 0),
            )
            for row in rows
        ]

    def class_stats(self, class_id: str, day: date) -> dict[str, int]:
        """The class's ``day`` (this machine's calendar day): questions asked, students who asked, answers given
        without grounding, and refusals (answers flagged ``refused``)."""
        import sqlalchemy as sa

        from .schema import conversations, messages, students

        start, end = _local_day(day)
        base = (
            sa.select()
            .select_from(messages.join(conversations).join(students))
            .where(students.c.class_id == class_id, messages.c.created >= start, messages.c.created < end)
        )
        user = messages.c.role == "user"
        assistant = messages.c.role == "assistant"
        query = base.add_columns(
            sa.func.sum(sa.case((user, 1), else_=0)).label("questions"),
            sa.func.count(sa.distinct(sa.case((user, students.c.id)))).label("active"),
            sa.func.sum(sa.case((assistant & messages.c.grounded.is_(False), 1), else_=0)).label(
                "ungrounded"
            ),
            sa.func.sum(sa.case((assistant & _flags_text().contains('"refused"'), 1), else_=0)).label(
                "refusals"
            ),
        )
        with self._read() as conn:
            row = conn.execute(query).one()
        return {
            "questions_today": int(row.questions or 0),
            "active_students": int(row.active or 0),
            "ungrounded_answers": int(row.ungrounded or 0),
            "refusals": int(row.refusals or 0),
        }

    def questions_since(self, student_id: str, since: datetime) -> int:
        """How many questions the student asked since ``since`` (for a class's daily limit)."""
        import sqlalchemy as sa

        from .schema import conversations, messages

        query = (
            sa.select(sa.func.count(messages.c.id))
            .select_from(messages.join(conversations))
            .where(
                conversations.c.student_id == student_id,
                messages.c.role == "user",
                messages.c.created >= since,
            )
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def add_feedback(self, message_id: int, student_id: str, rating: int, comment: str | None) -> None:
        """A student's rating of an answer in one of their conversations: +1 or -1, with an optional comment. A
        second rating of the same answer replaces the first. ``UnknownMessage`` for a message not theirs."""
        import sqlalchemy as sa

        from .schema import conversations, feedback, messages

        if rating not in (-1, 1):
            raise ValueError(f"rating must be 1 or -1, not {rating!r}")
        with self._write() as conn:
            mine = conn.execute(
                sa.select(messages.c.id)
                .select_from(messages.join(conversations))
                .where(
                    messages.c.id == message_id,
                    messages.c.role == "assistant",
                    conversations.c.student_id == student_id,
                )
            ).first()
            if mine is None:
                raise UnknownMessage(f"no answer {message_id} in this student's conversations")
            conn.execute(
                feedback.delete().where(
                    feedback.c.message_id == message_id, feedback.c.student_id == student_id
                )
            )
            conn.execute(
                feedback.insert().values(
                    message_id=message_id,
                    student_id=student_id,
                    rating=rating,
                    comment=comment,
                    created=self._now(),
                )
            )

    def feedback(self, class_id: str) -> list[dict[str, Any]]:
        """The class's feedback, oldest first: message id, student id, rating, comment, created."""
        import sqlalchemy as sa

        from .schema import feedback, students

        query = (
            sa.select(
                feedback.c.message_id,
                feedback.c.student_id,
                feedback.c.rating,
                feedback.c.comment,
                feedback.c.created,
            )
            .select_from(feedback.join(students))
            .where(students.c.class_id == class_id)
            .order_by(feedback.c.id)
        )
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- export, purge, retention ---------------------------------------------------------------------------------

    def export(self, name: str, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The class's messages, one dict per message in order: id, class, student (nickname), conversation, role,
        text, sources, mode, grounded, prompt_tokens, completion_tokens, first_token_s, latency_s, finish_reason,
        flags, time (ISO 8601, UTC). ``UnknownClass`` is raised here, before any row."""
        klass = self.get_class(name)
        return self._export_rows(klass, since)

    def _export_rows(self, klass: ClassInfo, since: datetime | None) -> Iterator[dict[str, Any]]:
        import sqlalchemy as sa

        from .schema import conversations, messages, students

        query = (
            sa.select(*messages.c, students.c.nickname)
            .select_from(messages.join(conversations).join(students))
            .where(students.c.class_id == klass.id)
            .order_by(messages.c.id)
        )
        if since is not None:
            query = query.where(messages.c.created >= since)
        with self._engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                record = self._message(row._mapping)
                yield {
                    "id": record.id,
                    "class": klass.name,
                    "student": row.nickname,
                    "conversation": record.conversation_id,
                    "role": record.role,
                    "text": record.text,
                    "sources": record.sources,
                    "mode": record.mode,
                    "grounded": record.grounded,
                    "prompt_tokens": record.prompt_tokens,
                    "completion_tokens": record.completion_tokens,
                    "first_token_s": record.first_token_s,
                    "latency_s": record.latency_s,
                    "finish_reason": record.finish_reason,
                    "flags": record.flags,
                    "time": record.created.isoformat(),
                }

    def _delete_messages(self, conn: Connection, chosen: Any) -> int:
        """Delete the messages whose ids ``chosen`` (a select of ids) gives, with their feedback; the count."""
        from .schema import feedback, messages

        conn.execute(feedback.delete().where(feedback.c.message_id.in_(chosen)))
        return int(conn.execute(messages.delete().where(messages.c.id.in_(chosen))).rowcount or 0)

    def _drop_empty_conversations(
        self, conn: Connection, members: Any, before: datetime | None = None
    ) -> None:
        import sqlalchemy as sa

        from .schema import conversations, messages

        empty = ~sa.exists().where(messages.c.conversation_id == conversations.c.id)
        where: list[Any] = [conversations.c.student_id.in_(members), empty]
        if before is not None:
            where.append(conversations.c.started < before)
        conn.execute(conversations.delete().where(*where))

    def _drop_students(self, conn: Connection, ids: Any) -> None:
        """Delete students (their sessions, feedback, conversations and any messages left) for good."""
        from .schema import conversations, feedback, messages, sessions, students

        theirs = conversations.c.student_id.in_(ids)
        chosen = (
            messages.select()
            .with_only_columns(messages.c.id)
            .where(
                messages.c.conversation_id.in_(
                    conversations.select().with_only_columns(conversations.c.id).where(theirs)
                )
            )
        )
        self._delete_messages(conn, chosen)
        conn.execute(feedback.delete().where(feedback.c.student_id.in_(ids)))
        conn.execute(conversations.delete().where(theirs))
        conn.execute(sessions.delete().where(sessions.c.student_id.in_(ids)))
        conn.execute(students.delete().where(students.c.id.in_(ids)))

    def purge(self, name: str, *, student: str | None = None, older_than: timedelta | None = None) -> int:
        """Delete a class's messages; how many. ``student``: only theirs (every student of the class with that
        nickname, case aside); ``older_than``: only messages older than that. A purge that is not limited by age
        also deletes the students it covers who have no live session (a named student always, sessions included):
        their nicknames are gone too."""
        import sqlalchemy as sa

        from .schema import conversations, messages, sessions, students

        now = self._now()
        with self._write() as conn:
            klass = self._class_row(conn, name)
            members_q = sa.select(students.c.id, students.c.nickname).where(students.c.class_id == klass.id)
            members = conn.execute(members_q).all()
            if student is not None:
                key = " ".join(student.split()).casefold()
                members = [m for m in members if m.nickname.casefold() == key]
                if not members:
                    raise UnknownStudent(
                        f"no student {student!r} in class {klass.name!r}",
                        hint=f"`edubot class show {klass.name}` lists its students",
                    )
            ids = [m.id for m in members]
            where: list[Any] = [
                messages.c.conversation_id.in_(
                    sa.select(conversations.c.id).where(conversations.c.student_id.in_(ids))
                )
            ]
            if older_than is not None:
                where.append(messages.c.created < now - older_than)
            count = self._delete_messages(conn, sa.select(messages.c.id).where(*where))
            if older_than is not None:
                self._drop_empty_conversations(conn, ids, before=now - older_than)
            elif student is not None:
                self._drop_students(conn, ids)
            else:  # students still in the room keep their (now empty) conversations: their pages point at them
                live = sa.select(sessions.c.student_id).where(sessions.c.expires > now)
                idle = (
                    conn.execute(
                        sa.select(students.c.id).where(students.c.id.in_(ids), students.c.id.not_in(live))
                    )
                    .scalars()
                    .all()
                )
                self._drop_students(conn, list(idle))
        return count

    def apply_retention(self, days: int, now: datetime | None = None) -> int:
        """Delete what is older than ``days`` (0: nothing): messages (with their feedback), conversations left
        empty, students who joined before then and have nothing left and no live session, and expired sessions
        of students and teachers. Returns the number of messages deleted."""
        import sqlalchemy as sa

        from .schema import conversations, messages, sessions, students, teacher_sessions

        moment = now or self._now()
        with self._write() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires <= moment))
            conn.execute(teacher_sessions.delete().where(teacher_sessions.c.expires <= moment))
            # expired sessions release their nicknames
            live = sa.select(sessions.c.student_id)
            conn.execute(
                students.update()
                .where(students.c.nickname_key.is_not(None), students.c.id.not_in(live))
                .values(nickname_key=None)
            )
            if days <= 0:
                return 0
            cutoff = moment - timedelta(days=days)
            count = self._delete_messages(conn, sa.select(messages.c.id).where(messages.c.created < cutoff))
            everyone = sa.select(students.c.id)
            self._drop_empty_conversations(conn, everyone, before=cutoff)
            idle = (
                conn.execute(
                    sa.select(students.c.id).where(
                        students.c.created < cutoff,
                        students.c.id.not_in(live),
                        students.c.id.not_in(sa.select(conversations.c.student_id)),
                    )
                )
                .scalars()
                .all()
            )
            if idle:
                self._drop_students(conn, list(idle))
        return count
