"""The war-room dashboard's App: it opens the room and hands it to the dashboard screen.

The App owns what lives as long as the terminal: the store (when it opened it), the room
session (change feed, presence, clock check, escalation engine) and the keymap from
warroom.toml. What is shown and what each key does is the dashboard screen's
(`tui/dashboard.py`); each pane renders itself (`tui/widgets/panes.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, tzinfo

from textual.app import App, SystemCommand
from textual.screen import Screen

from warroom.config_file import LoadedConfig
from warroom.domain.config.model import Config, default_config
from warroom.resources import styles_dir
from warroom.store.base import Store
from warroom.tui.actions import ActionKeys
from warroom.tui.dashboard import DashboardScreen
from warroom.tui.session import Clock, RoomSession


class WarroomApp(App[int]):
    CSS_PATH = str(styles_dir() / "warroom.tcss")
    TITLE = "warroom"
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, store: Store | None = None, *, actor: str, clock: Clock | None = None,
                 local_tz: tzinfo | None = None, follow: str | None = None,
                 tick: float | None = 1.0, presence: bool = True,
                 open_store: Callable[[], Awaitable[Store]] | None = None,
                 spectator: bool = False, config: Config | None = None,
                 loaded_config: LoadedConfig | None = None, engine: bool = True) -> None:
        """`store` is an open store the caller closes; `open_store` lets the app open (and
        close) its own, on its own event loop (snapshot tests run the app on theirs).
        `spectator` is not read: the store's own read-only flag decides (callers still pass it).
        A [keys] table that cannot be applied raises ConfigError here, before anything runs."""
        super().__init__()
        if store is None and open_store is None:
            raise ValueError("give a store or a way to open one")
        self._store = store
        self._open_store = open_store
        self.actor = actor
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.local_tz = local_tz or datetime.now().astimezone().tzinfo or UTC
        self.follow_id = follow
        self.tick_every = tick
        self.announce = presence
        self.run_engine = engine
        self.loaded = loaded_config or LoadedConfig(config or default_config(),
                                                    "built-in defaults", None)
        self.keys = ActionKeys.load(self.loaded)
        self.session: RoomSession | None = None
        self._dashboard: DashboardScreen | None = None

    @property
    def store(self) -> Store:
        assert self._store is not None, "the store opens when the app loads"
        return self._store

    @property
    def dashboard(self) -> DashboardScreen:
        """The dashboard screen (at the bottom of the stack, under any dialog)."""
        assert self._dashboard is not None, "the dashboard opens when the app starts"
        return self._dashboard

    async def on_load(self) -> None:
        """Before the screen is built: the dashboard is composed for this room's store."""
        if self._store is None and self._open_store is not None:
            self._store = await self._open_store()
        self.set_keymap(dict(self.keys.keymap))
        self.session = RoomSession(self, self.store, actor=self.actor, clock=self.clock,
                                   config=self.loaded.config, config_dir=self.loaded.base_dir,
                                   announce=self.announce, engine=self.run_engine)

    def get_default_screen(self) -> Screen:
        assert self.session is not None
        self._dashboard = DashboardScreen(
            self.session, loaded=self.loaded, keys=self.keys, local_tz=self.local_tz,
            follow=self.follow_id, tick=self.tick_every)
        return self._dashboard

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self._store is not None and self._open_store is not None:
            await self._store.close()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, DashboardScreen):
            yield from screen.system_commands()
        yield from super().get_system_commands(screen)
