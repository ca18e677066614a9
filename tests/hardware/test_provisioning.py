"""Desk-phone provisioning files: each vendor's file parses in its own format (checked with the
same reader against the vendor's documented example), carries the right credentials, keys and
codecs; MACs are normalised or refused; User-Agents give model and firmware."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from hardware.provisioning import (
    VENDORS,
    KeyKind,
    LineKey,
    MalformedMac,
    PhoneProfile,
    ProvisioningError,
    TimeZone,
    UnknownTimeZone,
    colon_mac,
    identify,
    normalise_mac,
    vendor,
)
from tests.hardware.vendor_formats import (
    documented_example,
    parse_fanvil,
    parse_xml,
    parse_yealink,
)

PASSWORD = 'p&ss<w>"rd\'1'  # every character XML must escape


def profile(**changes: object) -> PhoneProfile:
    values: dict[str, object] = {
        "mac": "00:15:65:AA:BB:CC",
        "extension": "1001",
        "sip_username": "1001",
        "sip_password": PASSWORD,
        "sip_server": "192.0.2.10",
        "sip_domain": "centralino.local",
        "display_name": "Anna <Rossi> & co",
        "time_zone": TimeZone.named("Europe/Rome"),
        "line_keys": (
            LineKey(KeyKind.AGENT_STATE, "Ready", "agent-1001", "*22"),
            LineKey(KeyKind.BLF, "Supervisor", "2001", "2001"),
        ),
    }
    values.update(changes)
    return PhoneProfile(**values)  # type: ignore[arg-type]


def body(name: str, file_name: str | None = None) -> str:
    v = vendor(name)
    files = v.render_files(profile())
    return files[file_name or v.file_names("001565aabbcc")[-1]].body


# --- MAC addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["00:15:65:AA:BB:CC", "00-15-65-aa-bb-cc", "0015.65aa.bbcc", "001565AABBCC"]
)
def test_every_accepted_spelling_normalises_to_twelve_lowercase_digits(spelling: str) -> None:
    assert normalise_mac(spelling) == "001565aabbcc"
    assert colon_mac(spelling) == "00:15:65:aa:bb:cc"


@pytest.mark.parametrize(
    "bad",
    ["", "00:15:65:AA:BB", "00:15:65:AA:BB:CC:DD", "00:15-65:aa:bb:cc", "0015.65aa.bbc",
     "00156g aabbcc", "001565aabbcc; rm -rf", "../001565aabbcc", "000000000000"],
)
def test_malformed_macs_are_refused_with_an_error_that_says_what_to_use(bad: str) -> None:
    with pytest.raises(MalformedMac) as error:
        normalise_mac(bad)
    assert isinstance(error.value, ValueError)
    assert "12 hex digits" in str(error.value) or "shared default" in str(error.value)


def test_a_profile_normalises_its_mac_and_refuses_unknown_codecs_and_control_characters() -> None:
    assert profile(mac="0015.65aa.bbcc").mac == "001565aabbcc"
    with pytest.raises(ProvisioningError, match="codecs"):
        profile(codecs=("PCMU", "OPUS"))
    with pytest.raises(ProvisioningError, match="control characters"):
        profile(display_name="Anna\nrm")
    with pytest.raises(UnknownTimeZone):
        TimeZone.named("Mars/Olympus")


# --- the registry -----------------------------------------------------------------------------


def test_the_registry_has_one_entry_per_vendor_and_names_unknown_ones() -> None:
    assert set(VENDORS) == {"yealink", "polycom", "grandstream", "cisco", "snom", "fanvil"}
    with pytest.raises(ProvisioningError, match="known: cisco, fanvil"):
        vendor("acme")


@pytest.mark.parametrize(
    ("name", "files"),
    [
        ("yealink", ("001565aabbcc.cfg",)),
        ("polycom", ("000000000000.cfg", "001565aabbcc.cfg")),
        ("grandstream", ("cfg001565aabbcc.xml",)),
        ("cisco", ("spa001565aabbcc.xml",)),
        ("snom", ("001565aabbcc.xml",)),
        ("fanvil", ("001565aabbcc.cfg",)),
    ],
)
def test_each_vendor_names_the_files_its_phones_fetch(name: str, files: tuple[str, ...]) -> None:
    v = vendor(name)
    assert v.file_names("001565aabbcc") == files
    assert set(v.render_files(profile())) == set(files)
    assert v.mac_of(files[-1].upper()) == "001565aabbcc"
    assert v.mac_of("cfg.xml") is None
    with pytest.raises(ProvisioningError):
        v.render(profile(), "other.cfg")


# --- each vendor's format, against its documented example ----------------------------------


def test_yealink_file_is_the_documented_key_syntax_with_the_credentials() -> None:
    parse_yealink(documented_example("yealink"))  # the reader accepts the vendor's example
    values = parse_yealink(body("yealink"))
    assert values["account.1.user_name"] == "1001"
    assert values["account.1.auth_name"] == "1001"
    assert values["account.1.password"] == PASSWORD
    assert values["account.1.display_name"] == "Anna <Rossi> & co"
    assert values["account.1.sip_server.1.address"] == "192.0.2.10"
    assert values["local_time.time_zone"] == "+1"
    assert values["account.1.codec.pcmu.priority"] == "1"
    assert values["account.1.codec.g722.priority"] == "3"
    assert (values["linekey.2.type"], values["linekey.2.value"], values["linekey.2.extension"]) == (
        "16", "agent-1001", "*22"
    )
    assert values["linekey.3.value"] == "2001"
    with pytest.raises(ValueError, match="header"):
        parse_yealink(body("yealink").split("\n", 1)[1])


def test_polycom_master_file_has_the_documented_shape_and_names_the_phone_file() -> None:
    documented = parse_xml(documented_example("polycom"))
    ours = parse_xml(body("polycom", "000000000000.cfg"))
    assert ours.tag == documented.tag == "APPLICATION"
    assert set(documented.attrib) <= set(ours.attrib)
    assert ours.attrib["CONFIG_FILES"] == "[PHONE_MAC_ADDRESS].cfg"


def test_polycom_phone_file_is_well_formed_xml_with_reg_1_credentials() -> None:
    phone = parse_xml(body("polycom")).find("phone")
    assert phone is not None
    assert phone.attrib["reg.1.auth.userId"] == "1001"
    assert phone.attrib["reg.1.auth.password"] == PASSWORD
    assert phone.attrib["reg.1.displayName"] == "Anna <Rossi> & co"
    assert phone.attrib["reg.1.server.1.address"] == "192.0.2.10"
    assert phone.attrib["voIpProt.SIP.specialEvent.checkSync.alwaysReboot"] == "0"
    assert phone.attrib["tcpIpApp.sntp.gmtOffset"] == "3600"
    assert phone.attrib["voice.codecPref.G711_Mu"] == "1"
    assert phone.attrib["attendant.resourceList.1.address"] == "agent-1001"


def pvalues(root: ET.Element) -> dict[str, str]:
    config = root.find("config")
    assert config is not None and config.attrib == {"version": "1"}
    return {child.tag: child.text or "" for child in config}


def test_grandstream_file_has_the_documented_structure_and_p_values() -> None:
    documented = parse_xml(documented_example("grandstream"))
    ours = parse_xml(body("grandstream"))
    assert ours.tag == documented.tag == "gs_provision"
    assert ours.attrib == documented.attrib == {"version": "1"}
    assert [c.tag for c in ours] == [c.tag for c in documented] == ["mac", "config"]
    assert ours.findtext("mac") == "001565aabbcc"  # the phone checks it against its own
    values = pvalues(ours)
    assert all(tag[0] == "P" and tag[1:].isdigit() for tag in values)
    assert values["P35"] == values["P36"] == "1001"
    assert values["P34"] == PASSWORD
    assert values["P47"] == "192.0.2.10:5060"
    assert values["P3"] == "Anna <Rossi> & co"
    assert [values["P57"], values["P58"], values["P59"]] == ["0", "8", "9"]
    assert values["P64"] == "CET-1CEST,M3.5.0,M10.5.0/3"
    assert [values["P323"], values["P325"], values["P326"]] == ["1", "Ready", "agent-1001"]


def test_cisco_file_is_a_flat_profile_with_line_1_credentials() -> None:
    documented = parse_xml('<?xml version="1.0"?>\n' + documented_example("cisco"))
    ours = parse_xml(body("cisco"))
    assert ours.tag == documented.tag == "flat-profile"
    # Every element is a leaf named like the documented ones (words, underscores, _n_ suffix).
    pattern = r"[A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_?"
    for element in (*documented, *ours):
        assert len(element) == 0 and re.fullmatch(pattern, element.tag), element.tag
    values = {e.tag: e.text for e in ours}
    assert values["User_ID_1_"] == values["Auth_ID_1_"] == "1001"
    assert values["Password_1_"] == PASSWORD
    assert values["Display_Name_1_"] == "Anna <Rossi> & co"
    assert values["Proxy_1_"] == "192.0.2.10:5060"
    assert values["Preferred_Codec_1_"] == "G711u"
    assert values["Time_Zone"] == "GMT+01:00"
    assert values["Extended_Function_2_"] == (
        "fnc=blf+sd;sub=agent-1001@192.0.2.10;ext=*22@192.0.2.10"
    )


def test_snom_file_has_the_documented_settings_shape_and_identity_1() -> None:
    documented = parse_xml(documented_example("snom"))
    ours = parse_xml(body("snom"))
    assert ours.tag == documented.tag == "settings"
    doc_settings, our_settings = documented.find("phone-settings"), ours.find("phone-settings")
    assert doc_settings is not None and our_settings is not None

    def identity(settings: ET.Element) -> dict[str, str]:
        return {e.tag: e.text or "" for e in settings if e.attrib.get("idx") == "1"}

    assert {"user_active", "user_realname", "user_name", "user_host"} <= set(
        identity(doc_settings)
    ) <= set(identity(our_settings))
    mine = identity(our_settings)
    assert mine["user_name"] == "1001"
    assert mine["user_pass"] == PASSWORD
    assert mine["user_realname"] == "Anna <Rossi> & co"
    assert mine["user_host"] == "192.0.2.10:5060"
    assert mine["codec_priority_list"] == "pcmu,pcma,g722,telephone-event"
    assert our_settings.findtext("timezone") == doc_settings.findtext("timezone") == "ITA+1"
    keys = ours.find("functionKeys")
    assert keys is not None
    assert [k.text for k in keys] == [
        "blf <sip:agent-1001@centralino.local>|*22",
        "blf <sip:2001@centralino.local>|2001",
    ]


def test_fanvil_file_is_the_documented_module_syntax_with_sip1_credentials() -> None:
    documented = parse_fanvil(documented_example("fanvil"))
    ours = parse_fanvil(body("fanvil"))
    sip = ours["SIP CONFIG MODULE"]
    assert set(documented["SIP CONFIG MODULE"]) - {"SIP  Port", "Reg Fail Interval"} <= set(sip)
    assert sip["SIP1 Register User"] == "1001"
    assert sip["SIP1 Register Pswd"] == PASSWORD
    assert sip["SIP1 Register Addr"] == "192.0.2.10"
    assert sip["SIP1 Display Name"] == "Anna <Rossi> & co"
    assert ours["AUDIO CONFIG MODULE"] == {"P1 Voice Codec1": "0", "P1 Voice Codec2": "1"}
    assert ours["DSSKEY CONFIG MODULE"]["Fkey1 Value"] == "agent-1001@1/b*22"
    assert body("fanvil").endswith("\r\n")


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_no_vendor_file_lets_a_display_name_break_its_format(name: str) -> None:
    nasty = profile(display_name='x" /><P34>stolen</P34><!-- -- ]]>', sip_password="pw")
    for file in vendor(name).render_files(nasty).values():
        if file.content_type == "application/xml":
            root = parse_xml(file.body)
            assert "stolen" not in [e.text for e in root.iter() if e.tag == "P34"]
        assert file.body.count("stolen") <= 1


# --- driving the phones: what part 2 reads ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "resync", "header"),
    [
        ("yealink", "check-sync;reboot=false", "Call-Info"),
        ("polycom", "check-sync", "Alert-Info"),
        ("snom", "check-sync;reboot=false", "Call-Info"),
        ("grandstream", "resync", "Call-Info"),
        ("cisco", "resync", "Call-Info"),
        ("fanvil", "resync", "Call-Info"),
    ],
)
def test_each_vendor_names_its_check_sync_event_and_auto_answer_header(
    name: str, resync: str, header: str
) -> None:
    v = vendor(name)
    assert v.resync_event == resync
    assert v.reboot_event and v.reboot_event != v.resync_event
    headers = v.auto_answer_headers("192.0.2.10")
    assert list(headers) == [header]
    assert "192.0.2.10" in headers[header]
    assert "answer-after=0" in headers[header] or "alert-autoanswer" in headers[header]


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("Yealink SIP-T46S 66.86.0.15", ("yealink", "T46S", "66.86.0.15")),
        ("Yealink SIP-T54W 96.86.0.100", ("yealink", "T54W", "96.86.0.100")),
        ("PolycomVVX-VVX_411-UA/5.9.5.0614", ("polycom", "VVX_411", "5.9.5.0614")),
        ("PolycomSoundPointIP-SPIP_550-UA/4.0.1.13681", ("polycom", "SPIP_550", "4.0.1.13681")),
        ("Grandstream GXP2170 1.0.9.135", ("grandstream", "GXP2170", "1.0.9.135")),
        ("Cisco/SPA504G-7.6.2b", ("cisco", "SPA504G", "7.6.2b")),
        ("Cisco-CP-8841-3PCC/11.3.2", ("cisco", "CP-8841-3PCC", "11.3.2")),
        ("snomD785/10.1.33.33", ("snom", "D785", "10.1.33.33")),
        ("Fanvil X4U 2.4.2.5 0c383e000000", ("fanvil", "X4U", "2.4.2.5")),
    ],
)
def test_user_agents_give_vendor_model_and_firmware(
    user_agent: str, expected: tuple[str, str, str]
) -> None:
    found = identify(user_agent)
    assert found is not None
    assert (found.vendor, found.model, found.firmware) == expected


def test_an_unknown_user_agent_is_not_guessed() -> None:
    assert identify("friendly-scanner") is None
    assert identify("Centralino") is None
