"""Lab 09: the embedded Prometheus and Alertmanager configurations, read as the tools would.

Pure tests (no cluster): YAML errors give their line and column inside the ConfigMap key,
strict loading refuses what Prometheus and Alertmanager refuse, and the routing tree is
walked as Alertmanager's dispatcher walks it.
"""

from __future__ import annotations

import pytest

from kubelab.labs.lab09_observabilite import ConfigError, parse_alertmanager, parse_prometheus

PODS_JOB = "scrape_configs:\n  - job_name: kubernetes-pods\n    kubernetes_sd_configs:\n      - role: pod\n"


def _error(parse, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_yaml_syntax_error_gives_line_and_column_inside_the_key() -> None:
    """Une erreur de syntaxe donne-t-elle sa ligne et sa colonne dans `prometheus.yml` ?"""
    text = "global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: prometheus\n     static_configs: []\n"
    assert _error(parse_prometheus, text).startswith("YAML invalide, ligne 5, colonne 20 :")


def test_tab_indentation_is_explained() -> None:
    """Une tabulation est-elle désignée comme telle ?"""
    assert "tabulation" in _error(parse_prometheus, "scrape_configs:\n\t- job_name: a\n")


def test_duplicate_keys_are_refused_like_go_strict_unmarshal() -> None:
    """Une clé en double est-elle refusée, avec la ligne de la première ?"""
    message = _error(parse_prometheus, "scrape_configs: []\nscrape_configs: []\n")
    assert "ligne 2" in message and "« scrape_configs » est en double (déjà en ligne 1)" in message


@pytest.mark.parametrize(("text", "fragment"), [
    ("scrape_config: []\n", "`scrape_config` : champ inconnu"),
    ("scrape_configs:\n  - job_name: a\n  - job_name: a\n",
     "`scrape_configs[1].job_name` : le job « a » est déjà défini"),
    ("global: {scrape_interval: 30}\n", "`global.scrape_interval` : durée attendue"),
    ("scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pods}]}]\n",
     "`scrape_configs[0].kubernetes_sd_configs[0].role` devrait être un rôle de découverte"),
    ("- job_name: a\n", "le document devrait être un mapping"),
    ("", "la configuration est vide"),
])
def test_prometheus_refusals_name_the_path(text: str, fragment: str) -> None:
    """Ce que Prometheus refuse est-il signalé par son chemin ?"""
    assert fragment in _error(parse_prometheus, text)


def test_flow_style_and_block_style_read_the_same() -> None:
    """Le style « flow » (à la JSON) donne-t-il les mêmes jobs que le style bloc ?"""
    flow = '{"scrape_configs": [{"job_name": "kubernetes-pods", "kubernetes_sd_configs": [{"role": "pod"}]}]}'
    assert [(j.index, j.name, j.spec) for j in parse_prometheus(flow)] == \
        [(j.index, j.name, j.spec) for j in parse_prometheus(PODS_JOB)]


ROOT = "receivers: [{name: default}, {name: critical}, {name: tickets}]\nroute:\n  receiver: default\n  routes:\n"


@pytest.mark.parametrize("route", [
    "    - matchers: ['severity=\"critical\"']\n      receiver: critical\n",
    "    - matchers: ['{severity = \"critical\"}']\n      receiver: critical\n",
    "    - matchers: [severity=critical]\n      receiver: critical\n",
    "    - match: {severity: critical}\n      receiver: critical\n",
    "    - match_re: {severity: crit.*}\n      receiver: critical\n",
])
def test_both_matcher_forms_route_critical_alerts(route: str) -> None:
    """`matchers:` (chaque écriture) et l'ancien `match:` envoient-ils les alertes critiques à `critical` ?"""
    config = parse_alertmanager(ROOT + route)
    assert config.receivers_for({"severity": "critical"}) == ["critical"]
    assert config.receivers_for({"severity": "warning"}) == ["default"]
    assert config.receivers_for({}) == ["default"]


def test_first_matching_route_wins_unless_continue() -> None:
    """La première sous-route qui correspond l'emporte-t-elle, sauf `continue: true` ?"""
    routes = ("    - matchers: ['severity=~\"critical|warning\"']\n      receiver: tickets\n{cont}"
              "    - matchers: ['severity=\"critical\"']\n      receiver: critical\n")
    assert parse_alertmanager(ROOT + routes.format(cont="")).receivers_for({"severity": "critical"}) == ["tickets"]
    both = parse_alertmanager(ROOT + routes.format(cont="      continue: true\n"))
    assert both.receivers_for({"severity": "critical"}) == ["tickets", "critical"]


def test_regex_matchers_are_anchored_and_several_matchers_all_apply() -> None:
    """Un matcher `=~` est-il ancré, et plusieurs matchers doivent-ils tous correspondre ?"""
    config = parse_alertmanager(ROOT + "    - matchers: ['severity=~\"crit\"', 'team=\"a\"']\n      receiver: "
                                       "critical\n")
    assert config.receivers_for({"severity": "critical", "team": "a"}) == ["default"]
    config = parse_alertmanager(ROOT + "    - matchers: ['severity=\"critical\",team=\"a\"']\n      receiver: "
                                       "critical\n")
    assert config.receivers_for({"severity": "critical"}) == ["default"]
    assert config.receivers_for({"severity": "critical", "team": "a"}) == ["critical"]


def test_nested_route_inherits_its_parents_receiver() -> None:
    """Une sous-route sans `receiver` hérite-t-elle de celui de son parent, sans le « déclarer » ?"""
    config = parse_alertmanager(ROOT + "    - matchers: ['team=\"a\"']\n      receiver: tickets\n"
                                       "      routes: [{matchers: ['severity=\"critical\"']}]\n")
    assert config.receivers_for({"team": "a", "severity": "critical"}) == ["tickets"]
    assert [path for path, _ in config.used_receivers()] == ["route.receiver", "route.routes[0].receiver"]


def test_used_receivers_name_their_route() -> None:
    """Chaque récepteur utilisé est-il rattaché au chemin de sa route ?"""
    config = parse_alertmanager("receivers: [{name: default}]\nroute:\n  receiver: default\n  routes:\n"
                                "    - matchers: ['severity=\"critical\"']\n      receiver: critical\n")
    undeclared = [(p, r) for p, r in config.used_receivers() if r not in config.receivers]
    assert undeclared == [("route.routes[0].receiver", "critical")]


@pytest.mark.parametrize(("text", "fragment"), [
    (ROOT + "    - matcher: ['severity=\"critical\"']\n      receiver: critical\n",
     "`route.routes[0].matcher` : champ inconnu"),
    (ROOT + "    - matchers: ['severity critical']\n", "« severity critical » n'est pas un matcher"),
    (ROOT + "    - matchers: 'severity=\"critical\"'\n", "`route.routes[0].matchers` devrait être une liste"),
    ("route: {}\n", "`route.receiver` manque"),
    ("route: {receiver: a, matchers: ['a=\"b\"']}\n", "la route racine `route` ne doit avoir aucun matcher"),
    ("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n", "le récepteur « a » est déjà déclaré"),
    ("receivers: []\n", "`route` manque"),
])
def test_alertmanager_refusals_name_the_path(text: str, fragment: str) -> None:
    """Ce qu'Alertmanager refuse est-il signalé par son chemin ?"""
    assert fragment in _error(parse_alertmanager, text)
