"""Build the CC0 MakeHuman/MPFB2 body in headless Blender: mesh shaped by MakeHuman's macro targets (sex,
muscle, weight, height, ethnicity), rig from the joint helpers, skin weights, and simple clothing colours by
dominant bone (long or short sleeves and legs)."""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass

import bpy
import numpy as np

from ...retarget import blender_io
from ...retarget.rig import Rig
from ..assets import mpfb2_dir

#: Skin base colours (linear RGB), light to dark.
SKIN_TONES = ((0.80, 0.58, 0.46), (0.68, 0.46, 0.33), (0.52, 0.33, 0.22), (0.34, 0.20, 0.12), (0.18, 0.10, 0.06))


@dataclass
class Body:
    """Who is rendered. Macro values run 0..1 as in MakeHuman (gender 0 female, 1 male; 0.5 average)."""

    gender: float = 0.5
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5
    race: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)  # african, asian, caucasian
    skin: tuple[float, float, float] = SKIN_TONES[1]
    shirt: tuple[float, float, float] = (0.2, 0.3, 0.7)
    trousers: tuple[float, float, float] = (0.15, 0.15, 0.18)
    shoes: tuple[float, float, float] = (0.05, 0.05, 0.05)
    sleeves: str = "long"  # long | short
    legs: str = "long"  # long | short

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Body":
        race = rng.dirichlet([0.6, 0.6, 0.6])
        tone = rng.uniform(0, len(SKIN_TONES) - 1)
        lo, hi = np.array(SKIN_TONES[int(tone)]), np.array(SKIN_TONES[min(int(tone) + 1, len(SKIN_TONES) - 1)])
        skin = lo + (hi - lo) * (tone - int(tone))
        return cls(gender=float(rng.uniform(0, 1)), muscle=float(rng.uniform(0.2, 0.9)), weight=float(rng.uniform(0.2, 0.9)),
                   height=float(rng.uniform(0.1, 0.9)), race=tuple(float(r) for r in race), skin=tuple(float(c) for c in skin),
                   shirt=tuple(float(c) for c in rng.uniform(0.03, 0.8, 3)), trousers=tuple(float(c) for c in rng.uniform(0.03, 0.5, 3)),
                   shoes=tuple(float(c) for c in rng.uniform(0.02, 0.3, 3)), sleeves=str(rng.choice(["long", "short"])),
                   legs=str(rng.choice(["long", "long", "short"])))

    @classmethod
    def from_json(cls, text: str) -> "Body":
        """A body as a render's truth file records it (``body``: the fields as JSON)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()})


def stature(body: Body) -> float:
    """The body's height (m), floor to the top of the head, as it stands in its rest pose."""
    verts, faces, groups = read_base_mesh(body)
    return float(np.ptp(verts[_skin(faces, groups)[1], 2]))


def _skin(faces: list[list[int]], groups: list[str]) -> tuple[list[int], np.ndarray]:
    """The base mesh's body faces (its other groups are helper geometry) and the vertices they use."""
    keep = [i for i, g in enumerate(groups) if g == "body"]
    return keep, np.unique(np.concatenate([faces[i] for i in keep]))


def _split(value: float, names: tuple[str, str, str]) -> dict[str, float]:
    """MakeHuman's piecewise-linear macro weights: 0 -> names[0], 0.5 -> names[1], 1 -> names[2]."""
    v = float(np.clip(value, 0, 1))
    return {names[0]: max(0.0, 1 - 2 * v), names[1]: 1 - abs(2 * v - 1), names[2]: max(0.0, 2 * v - 1)}


def _target(rel: str) -> tuple[np.ndarray, np.ndarray]:
    rows = gzip.open(mpfb2_dir() / "targets" / "macrodetails" / rel, "rt").read().split()
    arr = np.array(rows, float).reshape(-1, 4) if rows else np.zeros((0, 4))
    return arr[:, 0].astype(int), arr[:, 1:]


def macro_offsets(body: Body, n_verts: int) -> np.ndarray:
    """Vertex offsets (mesh units) of the adult ("young") body for ``body``'s macro values."""
    off = np.zeros((n_verts, 3))

    def add(rel: str, w: float) -> None:
        if w > 1e-4:
            idx, d = _target(rel)
            off[idx] += w * d

    gender = {"female": 1 - body.gender, "male": body.gender}
    muscle = _split(body.muscle, ("minmuscle", "averagemuscle", "maxmuscle"))
    weight = _split(body.weight, ("minweight", "averageweight", "maxweight"))
    height = _split(body.height, ("minheight", "", "maxheight"))
    for g, wg in gender.items():
        for race, wr in zip(("african", "asian", "caucasian"), body.race):
            add(f"{race}-{g}-young.target.gz", wg * wr)
        for m, wm in muscle.items():
            for k, wk in weight.items():
                add(f"universal-{g}-young-{m}-{k}.target.gz", wg * wm * wk)
                for h, wh in height.items():
                    if h:
                        add(f"height/{g}-young-{m}-{k}-{h}.target.gz", wg * wm * wk * wh)
    return off


#: Mesh units are decimetres, Y up; Blender wants metres, Z up (the body then faces -Y).
def _to_blender(v: np.ndarray) -> np.ndarray:
    return np.column_stack([v[:, 0], -v[:, 2], v[:, 1]]) * 0.1


def read_base_mesh(body: Body | None = None) -> tuple[np.ndarray, list[list[int]], list[str]]:
    """Vertices (Blender frame, shaped for ``body``), faces and the group each face belongs to, from
    ``3dobjs/base.obj``."""
    verts, faces, groups, group = [], [], [], ""
    for line in (mpfb2_dir() / "3dobjs" / "base.obj").read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split(maxsplit=1)[1].strip()
        elif line.startswith("f "):
            faces.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
            groups.append(group)
    verts = np.array(verts)
    if body is not None:
        verts = verts + macro_offsets(body, len(verts))
    return _to_blender(verts), faces, groups


def _vertex_group_members(name: str, table: dict) -> np.ndarray:
    return np.concatenate([np.arange(a, b + 1) for a, b in table[name]])


def rig_from_mesh(verts: np.ndarray, rig_name: str = "game_engine") -> Rig:
    """The rig's bones placed on this mesh: heads/tails at the mean of their joint-helper cubes."""
    data = json.loads((mpfb2_dir() / "rigs" / "standard" / f"rig.{rig_name}.json").read_text())
    data = data.get("bones", data) if isinstance(data.get("bones"), dict) else data
    table = json.loads((mpfb2_dir() / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())

    def point(spec):
        idx = _vertex_group_members(spec["cube_name"], table) if spec["strategy"] == "CUBE" else spec["vertex_indices"]
        return verts[np.asarray(idx)].mean(0)

    bones = {n: {"head": point(b["head"]), "tail": point(b["tail"]), "roll": b.get("roll", 0.0), "parent": b.get("parent") or None}
             for n, b in data.items()}
    return Rig.from_bones(bones)


def clothes(body: Body) -> dict[str, tuple[str, ...]]:
    """Garment -> bone-name prefixes it covers (game_engine rig names)."""
    shirt = ("spine", "clavicle", "upperarm", "pelvis_top") + (("lowerarm",) if body.sleeves == "long" else ())
    trousers = ("pelvis", "thigh") + (("calf",) if body.legs == "long" else ())
    return {"shirt": shirt, "trousers": trousers, "shoes": ("foot", "ball")}


def build(name: str = "Human", person: Body | None = None, rig_name: str = "game_engine") -> bpy.types.Object:
    """The skinned character (mesh parented to its armature); returns the armature object."""
    person = person or Body()
    verts, faces, groups = read_base_mesh(person)
    keep, used = _skin(faces, groups)
    remap = -np.ones(len(verts), int)
    remap[used] = np.arange(len(used))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts[used].tolist(), [], [[int(remap[v]) for v in faces[i]] for i in keep])
    mesh.update()
    for poly in mesh.polygons:
        poly.use_smooth = True
    body = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(body)
    rig = rig_from_mesh(verts, rig_name)
    arm = blender_io.create_armature(rig, f"{name} rig")
    weights = json.loads((mpfb2_dir() / "rigs" / "standard" / f"weights.{rig_name}.json").read_text())["weights"]
    dominant = np.full(len(used), "", object)
    best = np.zeros(len(used))
    for bone, pairs in weights.items():
        if not pairs:
            continue
        pairs = np.array(pairs)
        idx, w = remap[pairs[:, 0].astype(int)], pairs[:, 1]
        ok = idx >= 0
        vg = body.vertex_groups.new(name=bone)
        for v, wt in zip(idx[ok], w[ok]):
            vg.add([int(v)], float(wt), "REPLACE")
        stronger = w[ok] > best[idx[ok]]
        best[idx[ok][stronger]] = w[ok][stronger]
        dominant[idx[ok][stronger]] = bone
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    body.parent = arm
    colours = {"skin": person.skin, "shirt": person.shirt, "trousers": person.trousers, "shoes": person.shoes}
    for key, rgb in colours.items():
        mat = bpy.data.materials.new(f"{name} {key}")
        mat.use_nodes = True
        mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*rgb, 1.0)
        mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.6
        mesh.materials.append(mat)
    order = list(colours)
    for poly in mesh.polygons:
        bones = [dominant[v] for v in poly.vertices]
        part = "skin"
        for garment, prefixes in clothes(person).items():
            if sum(b.startswith(prefixes) for b in bones) * 2 > len(bones):
                part = garment
        if part == "shirt" and any(b.startswith(("hand", "neck", "head")) for b in bones):
            part = "skin"
        poly.material_index = order.index(part)
    return arm
