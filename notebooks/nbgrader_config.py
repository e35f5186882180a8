"""Configuration nbgrader du cours kubelab : un devoir par lab, un notebook par devoir.

Depuis ce dossier :

    nbgrader generate_assignment 03-stockage-pvc     # source/ -> release/ (solutions retirées)
    nbgrader release_assignment 03-stockage-pvc      # vers l'échange (Exchange.root)
    nbgrader collect 03-stockage-pvc                 # échange -> submitted/<apprenant>/
    nbgrader autograde 03-stockage-pvc               # note le notebook ET son snapshot.json
    nbgrader generate_feedback 03-stockage-pvc       # feedback/<apprenant>/… (HTML, en français)

La correction n'a pas besoin du cluster de l'apprenant : chaque devoir soumis contient
``snapshot.json`` (capturé par la cellule « Soumettre »), que les cellules de test notent avec
le même moteur que le bouton « Vérifier ». Pendant ``autograde`` et ``validate``, nbgrader
définit NBGRADER_EXECUTION et le notebook n'écrit dans aucun cluster.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from kubelab.notebook.nbgrader_hooks import with_course_hooks

c = get_config()  # noqa: F821 - fourni par nbgrader

HERE = Path(__file__).resolve().parent  # __file__ : défini par traitlets en lisant ce fichier

# nbgrader lance « alembic » (migration du carnet de notes) par le PATH : sans virtualenv activé
# (« ../.venv/bin/nbgrader … »), il ne le trouverait pas. Le dossier de l'interpréteur passe devant.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

c.CourseDirectory.course_id = "kubelab"

# Correction : les cellules de test intactes qui ont des tests cachés retrouvent ces tests sans le faux
# « checksum … has changed » (nbgrader, issue 1961), et le noyau apprend quel devoir, quel apprenant et
# quelle fenêtre de capture il doit vérifier dans snapshot.json (voir README.md, « Ce que prouve un instantané »).
c.Autograde.sanitize_preprocessors, c.Autograde.autograde_preprocessors = with_course_hooks(
    Autograde.class_traits()["sanitize_preprocessors"].default(),
    Autograde.class_traits()["autograde_preprocessors"].default(),
)

# Les textes de remplacement des solutions, en français. Pas de « raise NotImplementedError() » :
# les régions de solution sont souvent à l'intérieur d'un manifeste YAML (une chaîne Python),
# où « # VOTRE CODE ICI » est un commentaire YAML et laisse la cellule exécutable.
c.ClearSolutions.code_stub = {"python": "# VOTRE CODE ICI"}
c.ClearSolutions.text_stub = "VOTRE RÉPONSE ICI"

# Les cellules de test notent l'instantané soumis (moins d'une seconde) ; la marge reste large.
c.Execute.timeout = 120

# Le snapshot.json d'un apprenant ne doit jamais être remplacé par un fichier du dossier source
# (le notebook refuse d'en écrire un dans source/, ceci est une seconde protection).
source = HERE / "source"
if source.is_dir():
    c.Autograde.exclude_overwriting = {lab.name: ["snapshot.json"] for lab in source.iterdir() if lab.is_dir()}

# Une cellule de test supprimée par un apprenant est remise à la correction (et notée) ;
# nbgrader le signale dans son journal (« Missing grade cell … ») et dans la cellule remise.
# Une cellule verrouillée modifiée est, elle, remplacée par l'originale (« checksum … has changed »).
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.missing_cell_notification = (
    "Cette cellule ({cell_id}) manquait dans le devoir soumis : nbgrader l'a remise pour la correction.\n\n"
)

# Le retour aux apprenants ne montre pas le code des tests cachés (réponses des questions,
# vérifications cachées) : seulement leurs messages.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Le retour est en français : templates/feedback est le modèle « feedback » de nbgrader traduit ;
# placé avant celui de nbgrader, il le remplace (generate_feedback comme formgrader).
import nbgrader  # noqa: E402

c.HTMLExporter.filters = {"kubelab_message": "kubelab.notebook.feedback.message_html",
                          "kubelab_score": "kubelab.notebook.feedback.score"}
c.HTMLExporter.extra_template_basedirs = [
    str(HERE / "templates"),
    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"),
]
