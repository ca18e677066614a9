"""``centralino headset`` (also ``python -m hardware.headset``): the agent's USB or Bluetooth
headset as their phone, registered at the edge as their device."""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from loglines import setup_logging

if TYPE_CHECKING:
    from hardware.headset.station import Station
    from hardware.hid.device import TelephonyDevice

log = logging.getLogger(__name__)

PASSWORD_ENV = "CENTRALINO_HEADSET_PASSWORD"
EXIT_USAGE, EXIT_SOUND = 2, 5

EPILOG = f"""\
The SIP password comes from --password-file, else ${PASSWORD_ENV}, else a prompt.
While it runs, type a command and Enter: answer, hangup, dial NUMBER, mute, unmute,
volume PERCENT, quit (with --hid-replay also: hid HEX, a raw input report).
Exit status: 0 done, 2 bad usage, 3 the edge refused the credentials, 4 no answer from the
edge, 5 no usable sound device (none, unknown name, or it cannot capture and play).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralino headset",
        description="The agent's USB or Bluetooth headset as their phone, registered at the "
        "edge as their device.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--extension", help="the agent's device extension, e.g. 1001")
    parser.add_argument("--server", help="the edge, HOST or HOST:PORT (e.g. 10.0.0.5:5060)")
    parser.add_argument("--domain", help="SIP domain of the extension (default: the server)")
    parser.add_argument("--password-file", type=Path, help="file holding the SIP password")
    parser.add_argument("--device", help="sound device by name or part of it (default: the "
                        "system's default)")
    parser.add_argument("--list-devices", action="store_true",
                        help="list sound devices and exit")
    parser.add_argument("--ring-device", help="ring on this device (e.g. the PC speaker) "
                        "instead of the headset")
    parser.add_argument("--echo-canceller", action="store_true",
                        help="cancel the echo of open-ear headsets and speakerphones")
    parser.add_argument("--auto-answer", action="store_true", help="answer every call at once")
    parser.add_argument("--hid", metavar="NAME", help="headset buttons: the HID device whose "
                        "product name contains NAME (default: the first telephony one)")
    parser.add_argument("--no-hid", action="store_true", help="do not use headset buttons")
    parser.add_argument("--hid-replay", type=Path, metavar="DESCRIPTOR",
                        help="no HID device: replay `hid HEX` commands against this captured "
                        "report descriptor (testing)")
    parser.add_argument("--console-url", help="report hook, mute and levels to this console, "
                        "e.g. http://10.0.0.5:8000")
    parser.add_argument("--bind", help="local address for SIP and RTP (default: the one that "
                        "reaches the server)")
    parser.add_argument("--sip-port", type=int, default=0, help="local SIP port (default: any)")
    parser.add_argument("--rtp-port", type=int, default=40000, help="first local RTP port")
    parser.add_argument("--json", action="store_true", help="events as JSON lines on stdout")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING")
    return parser


def read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            password: str = args.password_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SystemExit(
                f"centralino headset: cannot read the password file: {error}"
            ) from error
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = getpass.getpass(f"SIP password of {args.extension}: ")
    else:
        raise SystemExit(f"centralino headset: give the password with --password-file or "
                         f"${PASSWORD_ENV}")
    if not password:
        raise SystemExit("centralino headset: the password is empty")
    return password


def local_address(server: str) -> str:
    """The local address the system would use to reach *server* (no packet is sent)."""
    host = server.rsplit(":", 1)[0] if server.count(":") == 1 else server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 5060))
            return str(probe.getsockname()[0])
        except OSError as error:
            raise SystemExit(f"centralino headset: cannot reach {host}: {error}") from error


def list_sound_devices() -> int:
    import pyaudio

    from hardware.headset.soundcard import list_devices, quiet_alsa

    quiet_alsa()
    audio = pyaudio.PyAudio()
    try:
        devices = list_devices(audio)
    finally:
        audio.terminate()
    if not devices:
        print("no sound devices found", file=sys.stderr)
        return EXIT_SOUND
    for device in devices:
        print(device.describe())
    return 0


def read_commands(station: Station, replay: TelephonyDevice | None) -> None:
    """Typed commands -> the station's loop (a thread; EOF quits)."""
    from hardware.hid.device import ReplayDevice

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        verb, rest = words[0].lower(), words[1:]
        action = {
            "answer": lambda: station.post(station.answer),
            "hangup": lambda: station.post(station.hangup),
            "mute": lambda: station.post(lambda: station.set_muted(True)),
            "unmute": lambda: station.post(lambda: station.set_muted(False)),
            "quit": station.stop,
        }.get(verb)
        if action is not None:
            action()
        elif verb == "dial" and rest:
            station.post(functools.partial(station.dial, rest[0]))
        elif verb == "volume" and rest and rest[0].isdigit():
            station.post(functools.partial(station.set_volume, int(rest[0])))
        elif verb == "hid" and rest and isinstance(replay, ReplayDevice):
            try:
                replay.inject(bytes.fromhex("".join(rest)))
            except ValueError:
                station.events.emit("refused", command="hid", reason="not hex")
        else:
            station.events.emit("refused", command=verb, reason="unknown command, see --help")
    station.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.list_devices:
        return list_sound_devices()
    if not args.extension or not args.server:
        build_parser().print_usage(sys.stderr)
        print("centralino headset: --extension and --server are needed", file=sys.stderr)
        return EXIT_USAGE
    if not args.extension.isalnum():
        print("centralino headset: the extension is letters and digits", file=sys.stderr)
        return EXIT_USAGE
    password = read_password(args)
    events_out = None
    if args.json:
        from hardware.headset.events import stdout_for_events

        events_out = stdout_for_events()
    return run(args, password, events_out)


def run(args: argparse.Namespace, password: str, events_out: TextIO | None) -> int:
    from hardware.headset.bridge import AudioBridge
    from hardware.headset.events import Events
    from hardware.headset.report import StateReporter
    from hardware.headset.sound import SoundCard, SoundError
    from hardware.headset.station import Registration, Station, StationError
    from hardware.hid.device import HidapiDevice, HidError, ReplayDevice

    events = Events(events_out)
    bridge = AudioBridge(8000, echo_canceller=args.echo_canceller)
    bridge.active = False  # until a call's media is connected
    try:
        sound = SoundCard(bridge, args.device, events.emit, args.ring_device)
    except SoundError as error:
        print(f"centralino headset: {error}", file=sys.stderr)
        return EXIT_SOUND
    buttons: TelephonyDevice | None = None
    if args.hid_replay is not None:
        try:
            buttons = ReplayDevice(args.hid_replay,
                                   on_write=lambda r: events.emit("lamps", report=r.hex()))
        except HidError as error:
            print(f"centralino headset: {error}", file=sys.stderr)
            return EXIT_USAGE
    elif not args.no_hid:
        try:
            buttons = HidapiDevice.find(args.hid)
        except (HidError, ImportError) as error:
            log.info("no headset buttons: %s", error)
    reporter = (StateReporter(args.console_url, args.extension, password)
                if args.console_url else None)
    registration = Registration(
        extension=args.extension, password=password, server=args.server,
        domain=args.domain or args.server.rsplit(":", 1)[0],
        address=args.bind or local_address(args.server), sip_port=args.sip_port,
        rtp_port=args.rtp_port,
    )
    station = Station(registration, bridge, sound, events, buttons, reporter, args.auto_answer)
    sound.start()
    signal.signal(signal.SIGTERM, lambda *_: station.stop())
    signal.signal(signal.SIGINT, lambda *_: station.stop())
    try:
        station.start()
    except StationError as error:
        print(f"centralino headset: {error}", file=sys.stderr)
        with contextlib.suppress(Exception):
            station.shutdown()
        return error.code
    threading.Thread(target=read_commands, args=(station, buttons), daemon=True).start()
    try:
        station.run()
    finally:
        station.shutdown()
        events.emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
