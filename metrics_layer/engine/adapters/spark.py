"""Spark SQL through ``pyspark`` in local mode: one JVM per process, on loopback only.

URL: ``spark://local`` (no tables: sources defined by ``sql``) or
``spark://local?warehouse=/absolute/path``, a folder of parquet tables laid out as Spark lays
out a warehouse, ``<warehouse>/<database>.db/<table>/``. Each such folder is registered as an
external table ``<database>.<table>`` in the session's in-memory catalog (metadata in memory;
no file is written). Another host than ``local`` is refused: a cluster runs the SQL of
``metrics-layer compile --dialect spark`` with its own client (docs/engines.md).

The session (``session()``) is created once per process under a lock, because starting the JVM
takes seconds, and shared by every ``spark://`` connection and the demo loader:

- master ``local[*]``; ``SPARK_LOCAL_IP``, ``spark.driver.host`` and
  ``spark.driver.bindAddress`` are 127.0.0.1 and the web UI is off, so nothing listens beyond
  loopback and nothing is contacted;
- ``spark.sql.session.timeZone`` and the JVM's ``user.timezone`` are UTC, and timestamps are
  handed back as their UTC wall clock (TIMESTAMP_NTZ), so the client's ``TZ`` changes nothing;
- ``spark.sql.ansi.enabled`` is true: an overflow, an impossible cast or a division by zero is
  an error (DuckDB errors on the first two and gives infinity on the third), never a silently
  different number such as a wrapped sum or a NULL;
- ``spark.sql.runSQLOnFiles`` is false (no ``parquet.`/path```), scripting is off, the catalog
  is in memory (no metastore is written), and the functions that call Java (``reflect``,
  ``java_method``, ``try_reflect``) are dropped from the session's registry;
- log4j is silenced (``spark_log4j2.properties``) and so is pyspark's error logger: every
  failure reaches the caller as an ``EngineError``.

Spark has no read-only session. Before a query runs, its text is parsed by Spark's own parser
and every node of the logical plan, subqueries and CTEs included, must be a query operator
(``QUERY_NODES``): a command, a write, a cache or a table function is refused there, after the
statement guard has already refused it (docs/security-engine.md). A timeout cancels the query's
job group (set on the calling thread) from a watchdog thread, again until the query returns;
Spark's planning of a query cannot be interrupted, only its jobs.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from metrics_layer.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "QUERY_NODES",
    "SparkAdapter",
    "attach",
    "connect",
    "parse_url",
    "refresh",
    "session",
]

LOOPBACK = "127.0.0.1"
_LOG_CONFIG = Path(__file__).with_name("spark_log4j2.properties")

# Static settings of the one session (see the module docstring for why each is there).
SETTINGS: dict[str, str] = {
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.runSQLOnFiles": "false",
    "spark.sql.scripting.enabled": "false",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.shuffle.partitions": str(max(2, os.cpu_count() or 2)),
    "spark.driver.extraJavaOptions": (
        f"-Duser.timezone=UTC -Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}"
    ),
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}

# Functions that call arbitrary Java methods; removed from the session's function registry.
JAVA_FUNCTIONS = ("reflect", "java_method", "try_reflect")

# The logical-plan operators (class names) a query is made of, as Spark's parser writes them.
QUERY_NODES = frozenset(
    {
        "UnresolvedWith",
        "SubqueryAlias",
        "UnresolvedSubqueryColumnAliases",
        "Project",
        "Filter",
        "Aggregate",
        "Join",
        "Union",
        "Intersect",
        "Except",
        "Distinct",
        "Deduplicate",
        "Sort",
        "GlobalLimit",
        "LocalLimit",
        "Offset",
        "Window",
        "OneRowRelation",
        "UnresolvedRelation",
        "UnresolvedHaving",
    }
)

_LOCK = threading.Lock()


@dataclass
class _State:
    """The process's session and the tables attached to it: (database, table) -> folder."""

    spark: SparkSession | None = None
    tables: dict[tuple[str, str], Path] = field(default_factory=dict)
    scratch: Path | None = None


_STATE = _State()


@dataclass(frozen=True)
class SparkUrl:
    """What a ``spark://`` URL asks for."""

    warehouse: Path | None


def parse_url(url: str) -> SparkUrl:
    """The parts of a ``spark://local[?warehouse=/abs/path]`` URL; EngineError otherwise.

    >>> parse_url("spark://local?warehouse=/data/wh").warehouse
    PosixPath('/data/wh')
    >>> parse_url("spark://cluster.internal:7077")
    Traceback (most recent call last):
    ...
    metrics_layer.errors.EngineError: spark:// runs Spark in this process only (spark://local...
    """
    parts = urlsplit(url)
    if parts.hostname != "local" or parts.port is not None or parts.path not in ("", "/"):
        raise EngineError(
            "spark:// runs Spark in this process only (spark://local or "
            "spark://local?warehouse=/absolute/path); for a cluster, compile the SQL with "
            "`metrics-layer compile --dialect spark` and run it with the cluster's own client"
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"warehouse"})
    if unknown:
        raise EngineError(
            f"unknown spark:// URL option {unknown[0]!r}; the only option is "
            "warehouse=/absolute/path"
        )
    found = query.get("warehouse", [""])[-1]
    if not found:
        return SparkUrl(None)
    path = Path(found)
    if not path.is_absolute():
        raise EngineError(
            f"the warehouse of a spark:// URL must be an absolute path, not {found!r}: "
            "spark://local?warehouse=/absolute/path"
        )
    return SparkUrl(path)


def session() -> SparkSession:
    """The process's SparkSession, started on first use (once, under a lock)."""
    with _LOCK:
        if _STATE.spark is None:
            _STATE.spark = _start()
        return _STATE.spark


def _start() -> SparkSession:
    os.environ["SPARK_LOCAL_IP"] = LOOPBACK
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark warns about the pandas version on import
        from pyspark import SparkConf, SparkContext
        from pyspark.errors import PySparkException
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    # pyspark logs every captured error, with the Java stack, before raising it.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL + 1)
    scratch = Path(tempfile.mkdtemp(prefix="metrics_layer_spark_"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    settings = {**SETTINGS, "spark.sql.warehouse.dir": str(scratch / "warehouse")}
    conf = (
        SparkConf().setMaster("local[*]").setAppName("metrics_layer").setAll(list(settings.items()))
    )
    # The JVM's own output (its start-up lines, a missing Java) goes to a file in the scratch
    # folder, and from there into the EngineError when Spark does not start.
    jvm_log = scratch / "jvm.log"
    try:
        with jvm_log.open("wb") as output, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gateway = launch_gateway(  # type: ignore[no-untyped-call]
                conf, popen_kwargs={"stdout": output, "stderr": output}
            )
            SparkContext._ensure_initialized(gateway=gateway, conf=conf)
            spark = SparkSession.builder.config(conf=conf).getOrCreate()
    except (PySparkException, OSError, RuntimeError) as exc:
        said = jvm_log.read_text(errors="replace") if jvm_log.exists() else ""
        raise EngineError(
            f"cannot start Spark: {_first_line(said or str(exc))}. pyspark needs Java 17 or "
            "21: install it, or point JAVA_HOME at it"
        ) from exc
    _STATE.scratch = scratch
    jvm = spark._jvm  # the JVM gateway has no public name
    assert jvm is not None
    registry = spark._jsparkSession.sessionState().functionRegistry()
    for name in JAVA_FUNCTIONS:
        identifier = jvm.org.apache.spark.sql.catalyst.FunctionIdentifier(
            name, jvm.scala.Some("builtin"), jvm.scala.Some("system")
        )
        registry.dropFunction(identifier)
    return spark


def attach(warehouse: Path) -> None:
    """Register each ``<warehouse>/<database>.db/<table>/`` folder as an external parquet table.

    A table of the same name already attached from another folder is an EngineError: the
    catalog is one per process.
    """
    if not warehouse.is_dir():
        raise EngineError(
            f"no Spark warehouse at {str(warehouse)!r}; check the path in the URL, or load the "
            "demo into it with `metrics-layer demo --connection spark://local?warehouse=...`"
        )
    spark = session()
    with _LOCK:
        for database in sorted(warehouse.glob("*.db")):
            for table in sorted(p for p in database.iterdir() if _is_table(p)):
                _register(spark, database.name.removesuffix(".db"), table)


def refresh(database: str) -> None:
    """Make a running session list the files of ``database``'s attached tables again."""
    with _LOCK:
        spark = _STATE.spark
        if spark is None:
            return
        for attached, table in _STATE.tables:
            if attached == database:
                spark.catalog.refreshTable(f"{database}.{table}")


def _is_table(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.parquet"))


def _register(spark: SparkSession, database: str, folder: Path) -> None:
    from sqlglot import exp

    key = (database, folder.name)
    known = _STATE.tables.get(key)
    if known == folder:
        return
    if known is not None:
        raise EngineError(
            f"table {database}.{folder.name} is already attached from {str(known)!r} in this "
            "process; Spark has one catalog per process, so use one warehouse per process"
        )
    schema = exp.Create(
        kind="DATABASE", this=exp.Table(this=exp.to_identifier(database)), exists=True
    )
    try:
        spark.sql(schema.sql("spark"))
        spark.catalog.createTable(f"{database}.{folder.name}", path=str(folder), source="parquet")
    except Exception as exc:
        raise EngineError(
            f"cannot read the Spark table folder {str(folder)!r}: {_message(exc)}"
        ) from exc
    _STATE.tables[key] = folder


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("An error occurred while calling"):
            continue
        line = line.removeprefix(": ")
        # "org.apache.spark.SparkException: [CONDITION] ..." -> "[CONDITION] ..."
        head, sep, rest = line.partition(": ")
        if sep and "." in head and " " not in head:
            line = rest
        return _without_spark_advice(line)
    return "no message"


def _without_spark_advice(line: str) -> str:
    """Spark's own advice (turning ANSI mode off) does not apply to a metrics_layer session."""
    cut = line.find(' If necessary set "spark.sql.ansi.enabled"')
    return line if cut < 0 else line[:cut]


def _message(exc: BaseException) -> str:
    return _first_line(str(exc)) if str(exc) else type(exc).__name__


class SparkAdapter:
    """Runs verified SQL on the process's Spark session (see the module docstring)."""

    name = "Spark"

    def __init__(self, parsed: SparkUrl) -> None:
        self.warehouse = parsed.warehouse
        self._attached = False

    def _ready(self) -> SparkSession:
        spark = session()
        if self.warehouse is not None and not self._attached:
            attach(self.warehouse)
            self._attached = True
        return spark

    def fetch(
        self, sql: str, *, timeout: float, max_rows: int, time_zones: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
        spark = self._ready()
        problem = _plan_problem(spark, sql)
        if problem is not None:
            raise EngineError(f"Spark refused the statement: {problem}", sql=sql)
        group = f"metrics_layer-{uuid.uuid4().hex}"
        context = spark.sparkContext
        fired, done = threading.Event(), threading.Event()

        def watch() -> None:
            """After the deadline, cancel the query's job group until the query returns: a job
            that starts after one cancellation (the next stage, a broadcast) is caught too."""
            if done.wait(timeout):
                return
            fired.set()
            while True:
                context.cancelJobGroup(group)
                if done.wait(0.25):
                    return

        timer = threading.Thread(target=watch, name="metrics_layer spark timeout", daemon=True)
        # this thread's jobs (pyspark pins a JVM thread to each Python thread), broadcasts included
        context.setJobGroup(group, "metrics_layer query", interruptOnCancel=True)
        timer.start()
        try:
            frame = spark.sql(sql)
            columns = tuple(frame.columns)
            rows = _wall_clock(frame).take(max_rows + 1)
        except Exception as exc:
            if fired.is_set():
                raise EngineError(
                    f"the query ran longer than the {timeout:g} s timeout; narrow the date "
                    "range, add filters, or raise timeout=... (--timeout on the command line)",
                    sql=sql,
                    limit="timeout",
                ) from exc
            raise _refused(exc, sql) from exc
        finally:
            done.set()
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        return columns, tuple(tuple(row) for row in rows)

    def close(self) -> None:
        """Nothing to release: the session lives as long as the process."""


def _refused(exc: BaseException, sql: str) -> EngineError:
    """Spark's refusal of a query, with what to do about it."""
    detail = _message(exc).rstrip(".")
    if "TABLE_OR_VIEW_NOT_FOUND" in detail or "SCHEMA_NOT_FOUND" in detail:
        fix = (
            "Check that the URL's warehouse (spark://local?warehouse=/absolute/path) holds "
            "<database>.db/<table>/ folders of parquet files, and the project's target names "
            "the database"
        )
    else:
        fix = "`metrics-layer compile --dialect spark` shows the SQL"
    return EngineError(f"Spark refused the query: {detail}. {fix}", sql=sql)


def _wall_clock(frame: DataFrame) -> DataFrame:
    """Timestamps as their UTC wall clock (TIMESTAMP_NTZ): pyspark would turn a TIMESTAMP into
    the client's local time."""
    from pyspark.sql.functions import col
    from pyspark.sql.types import TimestampType

    names = [f"c{i}" for i in range(len(frame.columns))]
    renamed = frame.toDF(*names)
    return renamed.select(
        *(
            col(name).cast("timestamp_ntz") if isinstance(f.dataType, TimestampType) else col(name)
            for name, f in zip(names, renamed.schema.fields, strict=True)
        )
    )


def _plan_problem(spark: SparkSession, sql: str) -> str | None:
    """What in Spark's parsed plan of ``sql`` is not a query operator, or None."""
    parser = spark._jsparkSession.sessionState().sqlParser()
    try:
        plan = parser.parsePlan(sql)
    except Exception as exc:
        return f"it does not parse: {_message(exc)}"
    pending = [plan]
    while pending:
        node = pending.pop()
        kind = str(node.getClass().getSimpleName())
        if kind not in QUERY_NODES:
            return f"{kind} is not a query operator; only reads are sent"
        for children in (node.children(), node.innerChildren()):
            pending.extend(children.apply(i) for i in range(children.size()))
    return None


def connect(url: str) -> SparkAdapter:
    """The adapter for a ``spark://local`` URL (the session starts on the first query)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineError(
            'the spark:// engine needs pyspark: pip install "kpi-layer[spark]"'
        ) from exc
    return SparkAdapter(parse_url(url))
