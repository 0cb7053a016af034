import pytest

from experiments.targeting import Attributes, Targeting, attributes_from, platform_of


def test_empty_targeting_admits_everyone():
    assert Targeting().admits(Attributes())
    assert Targeting().admits(Attributes(country="BR", platform="ios", is_staff=True))


@pytest.mark.parametrize(
    ("targeting", "fan", "admitted"),
    [
        (Targeting(countries=frozenset({"US", "GB"})), Attributes(country="us"), True),
        (Targeting(countries=frozenset({"US"})), Attributes(country="DE"), False),
        (Targeting(countries=frozenset({"US"})), Attributes(country=""), False),
        (Targeting(platforms=frozenset({"ios"})), Attributes(platform="ios"), True),
        (Targeting(platforms=frozenset({"ios"})), Attributes(platform="web"), False),
        (Targeting(visitors="new"), Attributes(is_new=True), True),
        (Targeting(visitors="new"), Attributes(is_new=False), False),
        (Targeting(visitors="returning"), Attributes(is_new=True), False),
        (Targeting(visitors="returning"), Attributes(is_new=False), True),
        (Targeting(staff="staff"), Attributes(is_staff=False), False),
        (Targeting(staff="staff"), Attributes(is_staff=True), True),
        (Targeting(staff="fans"), Attributes(is_staff=True), False),
        (Targeting(staff="fans"), Attributes(is_staff=False), True),
        (Targeting(follows_artist_id=7), Attributes(follows=lambda a: a == 7), True),
        (Targeting(follows_artist_id=7), Attributes(follows=lambda a: a == 8), False),
    ],
)
def test_targeting_admits(targeting, fan, admitted):
    assert targeting.admits(fan) is admitted


def test_follows_is_only_asked_when_the_experiment_targets_followers():
    asked = []
    fan = Attributes(follows=lambda artist: asked.append(artist) or True)
    assert Targeting(countries=frozenset()).admits(fan)
    assert asked == []
    Targeting(follows_artist_id=3).admits(fan)
    assert asked == [3]


@pytest.mark.parametrize(
    ("agent", "platform"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "ios"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8)", "android"),
        ("Mozilla/5.0 (X11; Linux x86_64) Chrome/120", "web"),
        ("MySetlist-iOS/2.1", "ios"),
        ("", "web"),
    ],
)
def test_platform_of(agent, platform):
    assert platform_of(agent) == platform


def test_attributes_from_reads_the_proxy_country_and_the_agent():
    meta = {"HTTP_CF_IPCOUNTRY": "gb", "HTTP_USER_AGENT": "Mozilla/5.0 (Android 14)"}
    fan = attributes_from(meta, is_staff=True, is_new=False, country_header="HTTP_CF_IPCOUNTRY")
    assert (fan.country, fan.platform, fan.is_staff, fan.is_new) == ("GB", "android", True, False)
    assert attributes_from({}).country == ""
