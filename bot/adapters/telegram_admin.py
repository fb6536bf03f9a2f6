"""The clinic's side in Telegram: /stats, /unanswered with one-tap fixes, call-back delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Final

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.adapters import telegram as tg
from bot.engine import Contact, RequestCallback
from bot.knowledge_edit import AddedPhrasing, add_phrasing
from bot.problems import KnowledgeError
from bot.reloader import ReloadOutcome
from bot.replies import Reply
from bot.review import QuestionGroup, dismiss_group, find_group, group_questions
from bot.stats import ChartsUnavailableError, Labels, load_report, render_html, render_text

if TYPE_CHECKING:
    from telegram import Bot

    from bot.adapters.telegram import TelegramBot

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

# Admin button actions: "a:+:<group ref>:<topic id>" add, "a:o:<ref>" other topic, "a:d:<ref>"
# dismiss. The longest, with a 40-character topic id, is 55 bytes; the signer's tag makes 63.
ADMIN_PREFIX: Final = "a:"
GROUPS_SHOWN: Final = 5
OTHER_WORDINGS_SHOWN: Final = 2
TITLE_CHARS: Final = 28
MAX_PROBLEMS_SHOWN: Final = 10
REPORT_FILENAME: Final = "backpain-bot-report.html"
# Delivery of call-back requests: retried with back-off, from RETRY_FIRST up to RETRY_MAX
# seconds, for as long as a request is pending (they are purged after the retention period).
RETRY_FIRST: Final = 1.0
RETRY_MAX: Final = 300.0
PURGE_EVERY_SECONDS: Final = 6 * 3600


def is_admin_action(action: str | None) -> bool:
    return action is not None and action.startswith(ADMIN_PREFIX)


def contact_event(message: Message) -> Contact | None:
    """A shared contact as the engine's event (the number from Telegram's share button)."""
    contact = message.contact
    if contact is None:
        return None
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return Contact(contact.phone_number, name)


def reply_markup(
    reply: Reply, bot: TelegramBot
) -> ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The share-contact keyboard the engine asks for, or its removal."""
    if reply.keyboard == "contact":
        buttons = bot.engine.kb.messages.buttons
        return ReplyKeyboardMarkup(
            [[KeyboardButton(buttons.share_contact, request_contact=True)],
             [KeyboardButton(buttons.cancel)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )  # fmt: skip
    if reply.keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


class ClinicDesk:
    """Admin commands and presses, and the call-back request queue, for one TelegramBot."""

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot
        self._api: Bot | None = None
        self._wake = asyncio.Event()
        self._deliver_lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    def attach(self, api: Bot) -> None:
        """The Bot the requests are sent with (the Application's)."""
        self._api = api

    def start(self) -> None:
        """Deliver what is pending (left by a restart) and keep retrying in the background."""
        if self.bot.settings.telegram.admin_chat_id is not None and self._loop_task is None:
            self._loop_task = asyncio.create_task(self._delivery_loop(), name="callbacks")

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._loop_task] if self._loop_task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None
        self._tasks.clear()

    # --- admin commands --------------------------------------------------------------------

    async def command(self, update: Update, context: Context, name: str) -> None:
        chat = update.effective_chat
        if chat is None or update.effective_user is None:
            return
        if name == "stats":
            await self._stats(context, chat.id)
        elif name == "unanswered":
            await self._unanswered(context, chat.id, update.effective_user.id)

    async def _stats(self, context: Context, chat_id: int) -> None:
        bot = self.bot
        report = load_report(
            bot.storage,
            bot.now(),
            clinic=bot.settings.clinic.name,
            labels=Labels.from_knowledge(bot.engine.kb),
        )
        await self._say(context.bot, chat_id, render_text(report))
        try:
            # Drawing the charts takes a moment; the loop keeps serving chats meanwhile.
            page = await asyncio.to_thread(render_html, report)
        except ChartsUnavailableError:
            return  # the text is the report; the page needs the [report] extra
        try:
            await context.bot.send_document(
                chat_id, page.encode(), filename=REPORT_FILENAME, caption="Open in a browser"
            )
        except TelegramError as exc:
            log.warning("the stats page could not be sent: %s", type(exc).__name__)

    async def _groups(self) -> list[QuestionGroup]:
        rows = self.bot.storage.unanswered()  # SQLite stays on the loop's thread
        return await asyncio.to_thread(group_questions, rows, self.bot.engine.kb)

    async def _unanswered(self, context: Context, chat_id: int, user_id: int) -> None:
        groups = await self._groups()
        if not groups:
            await self._say(context.bot, chat_id, "No unanswered questions to review. 🎉")
            return
        shown = groups[:GROUPS_SHOWN]
        total = sum(g.count for g in groups)
        await self._say(
            context.bot,
            chat_id,
            f"{total} unanswered question{'s' if total != 1 else ''} in {len(groups)} "
            f"group{'s' if len(groups) != 1 else ''}; the {len(shown)} most frequent follow. "
            "Add one as a new phrasing of a topic, or dismiss it.",
        )
        kb = self.bot.engine.kb
        for group in shown:
            lines = [f"{group.count}× “{group.representative}”"]
            others = [q for q in group.questions if q != group.representative]
            lines += [f"   also: “{q}”" for q in others[:OTHER_WORDINGS_SHOWN]]
            buttons: list[tuple[str, str]] = []
            closest = group.closest_topic
            if closest is not None and closest in kb.topics_by_id:
                title = kb.topic(closest).title
                lines.append(f"Closest topic: {title}")
                buttons.append((f"Add to {_short(title)}", f"a:+:{group.ref}:{closest}"))
            buttons += [("Other topic…", f"a:o:{group.ref}"), ("Dismiss", f"a:d:{group.ref}")]
            await self._say(
                context.bot, chat_id, "\n".join(lines), self._keyboard(buttons, chat_id, user_id)
            )

    # --- admin buttons ---------------------------------------------------------------------

    async def press(
        self, update: Update, context: Context, query: CallbackQuery, action: str
    ) -> None:
        """An admin's button (already verified as made for this chat and user)."""
        chat = update.effective_chat
        if chat is None:
            return
        with contextlib.suppress(BadRequest):
            await query.answer()
        kind, _, rest = action.removeprefix(ADMIN_PREFIX).partition(":")
        ref, _, topic_id = rest.partition(":")
        group = find_group(await self._groups(), ref)
        if group is None:
            await self._say(context.bot, chat.id, "Those questions were already handled.")
            return
        if kind == "o":
            kb = self.bot.engine.kb
            buttons = [(_short(t.title), f"a:+:{ref}:{t.id}") for t in kb.topics]
            await self._say(
                context.bot,
                chat.id,
                f"Which topic should “{group.representative}” be added to?",
                self._keyboard(buttons, chat.id, query.from_user.id),
            )
        elif kind == "d":
            hidden = dismiss_group(self.bot.storage, group)
            await self._say(
                context.bot,
                chat.id,
                f"Dismissed “{group.representative}” ({hidden} question"
                f"{'s' if hidden != 1 else ''}); it won't be listed again.",
            )
        elif kind == "+":
            await self._say(context.bot, chat.id, await self._add(group, topic_id))

    async def _add(self, group: QuestionGroup, topic_id: str) -> str:
        """Add the group's question to the topic, validate, reload; the report for the admin."""
        bot, settings = self.bot, self.bot.settings
        # The reload lock: /reload and the file watcher must not interleave with the edit.
        async with bot.reload_lock:
            try:
                # add_phrasing takes about a second (it validates the whole knowledge folder).
                added: AddedPhrasing = await asyncio.to_thread(
                    add_phrasing,
                    settings.knowledge_dir,
                    topic_id,
                    group.representative,
                    clinic=settings.clinic,
                    matching=settings.matching,
                )
            except KnowledgeError as exc:
                lines = [str(p) for p in exc.problems[:MAX_PROBLEMS_SHOWN]]
                return "\n".join(
                    ["I did not change the knowledge files: the change was refused.", "", *lines]
                )
            bot.storage.delete_unanswered(group.ids)
            # The same swap as /reload, with the knowledge add_phrasing already validated.
            report = bot.apply_reload(ReloadOutcome(added.knowledge), automatic=False)
        title = added.knowledge.topic(topic_id).title
        if not added.changed:
            return f"{title} already has “{added.phrasing}”; removed it from the list. {report}"
        how = (
            "I now answer it with this topic."
            if added.answers
            else "Another topic scores close, so I may still offer a choice."
        )
        return f"Added “{added.phrasing}” to {title} (faq.yaml line {added.line}). {report} {how}"

    # --- call-back requests ----------------------------------------------------------------

    def request_callback(
        self, effect: RequestCallback, user_id: int, chat_id: int, now: datetime
    ) -> None:
        """Store the request first (so nothing is lost), then have it delivered."""
        self.bot.storage.add_callback_request(
            user_id, chat_id, effect.name, effect.phone, effect.summary, now
        )
        log.info("call-back request stored")  # never the number or the name
        if self._loop_task is not None:
            self._wake.set()
        else:
            # Not polling (the Application is driven directly): deliver now, once.
            task = asyncio.get_running_loop().create_task(self.deliver_pending())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _delivery_loop(self) -> None:
        delay = RETRY_FIRST
        purged_at: datetime | None = None
        while True:
            self._wake.clear()
            try:
                delivered = await self.deliver_pending()
                now = self.bot.now()
                if purged_at is None or (now - purged_at).total_seconds() > PURGE_EVERY_SECONDS:
                    purged_at = now
                    removed = self.bot.storage.purge_callback_requests(
                        now, self.bot.settings.privacy.retention_days
                    )
                    if removed:
                        log.info("deleted %d call-back request(s) past retention", removed)
            except Exception:
                log.exception("delivering call-back requests failed")
                delivered = False
            wait = PURGE_EVERY_SECONDS if delivered else delay
            delay = RETRY_FIRST if delivered else min(delay * 2, RETRY_MAX)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def deliver_pending(self) -> bool:
        """Send every pending request to the clinic's chat; False if one must be retried."""
        admin_chat = self.bot.settings.telegram.admin_chat_id
        api = self._api
        if admin_chat is None or api is None:
            return True
        async with self._deliver_lock:
            storage = self.bot.storage
            for request in storage.pending_callback_requests():
                lines = ["📞 Call-back request"]
                if request.name:
                    lines.append(f"Name: {request.name}")
                lines += [
                    f"Phone: {request.phone}",
                    f"Asked: {request.created_at:%Y-%m-%d %H:%M} UTC",
                    "",
                    request.summary,
                ]
                try:
                    await api.send_message(
                        admin_chat, tg.to_html("\n".join(lines)), parse_mode=ParseMode.HTML
                    )
                except (BadRequest, Forbidden) as exc:
                    # Telegram refuses the chat itself ("chat not found", the bot was removed):
                    # no retry will help until the operator fixes the config, so say so. The
                    # request is kept and goes out once the chat is right (or at retention).
                    storage.callback_attempted(request.id)
                    log.error(
                        "call-back request %d not delivered: Telegram refused "
                        "telegram.admin_chat_id %s (%s: %s); check the id and that the bot is "
                        "a member of that chat, then restart; pending requests are kept and "
                        "retried every %d s",
                        request.id,
                        admin_chat,
                        type(exc).__name__,
                        exc.message,
                        int(RETRY_MAX),
                    )
                    return False
                except TelegramError as exc:
                    storage.callback_attempted(request.id)
                    log.warning(
                        "call-back request %d not delivered (%s); will retry",
                        request.id,
                        type(exc).__name__,
                    )
                    return False
                storage.callback_delivered(request.id, self.bot.now())
                log.info("call-back request %d delivered to the clinic's chat", request.id)
                try:
                    await api.send_message(
                        request.chat_id,
                        tg.to_html(self.bot.messages.callback_sent),
                        parse_mode=ParseMode.HTML,
                    )
                except TelegramError as exc:
                    # The clinic has it, which is what matters; the person may have blocked us.
                    log.info("call-back confirmation not sent: %s", type(exc).__name__)
        return True

    # --- sending ---------------------------------------------------------------------------

    def _keyboard(
        self, buttons: list[tuple[str, str]], chat_id: int, user_id: int
    ) -> InlineKeyboardMarkup:
        signer = self.bot.signer
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=signer.sign(action, chat_id, user_id))]
             for label, action in buttons]
        )  # fmt: skip

    async def _say(
        self, api: Bot, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> None:
        for part in tg.render(Reply(text), keyboard):
            await api.send_message(
                chat_id, part.html, parse_mode=ParseMode.HTML, reply_markup=part.keyboard
            )


def _short(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
