"""The upload form: what is checked before anything is stored (extension, size, that its
first bytes are those of an .xlsx, .xls or .ods at all); the container and the rows are
checked by the import engine in the job."""

from django import forms

from core.uploads import sniff_spreadsheet

from .columns import COLUMNS, OPTIONAL_HEADERS
from .reader import FORMATS, MAX_FILE_BYTES

# Django does not limit file uploads by itself; the form refuses what the engine would.
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
_HEAD = 120  # enough bytes to tell .xlsx, .xls and .ods apart
_ACCEPT = ",".join(
    [
        *(f".{extension}" for extension in FORMATS),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
        "application/vnd.oasis.opendocument.spreadsheet",
    ]
)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} 字节"


class UploadForm(forms.Form):
    file = forms.FileField(
        label="台账文件（.xlsx、.xls 或 .ods）",
        error_messages={
            "required": "请选择要导入的台账文件（.xlsx、.xls 或 .ods）。",
            "empty": "文件是空的，请选择填好的台账文件。",
            "invalid": "没有收到文件，请重新选择。",
        },
        widget=forms.ClearableFileInput(attrs={"accept": _ACCEPT}),
    )
    round_name = forms.CharField(
        label="摸排轮次名称",
        max_length=100,
        help_text="选择已有的轮次，或填写新的轮次名称（如 2022年摸排）；新名称导入时自动建立轮次。",
        error_messages={
            "required": "请填写摸排轮次名称。",
            "max_length": "轮次名称不能超过 100 个字。",
        },
        widget=forms.TextInput(attrs={"list": "round-names", "autocomplete": "off"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(tuple(f".{extension}" for extension in FORMATS)):
            raise forms.ValidationError(
                "只能导入 .xlsx、.xls 或 .ods 格式的台账；.csv、.et 等请先在 Excel 或 WPS 中"
                "“另存为”.xlsx。"
            )
        if upload.size == 0:
            raise forms.ValidationError("文件是空的，请选择填好的台账文件。")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"文件太大（{megabytes(upload.size)}），不能超过 {megabytes(MAX_UPLOAD_BYTES)}。"
                "请分成几个文件（例如按乡镇）分别导入。"
            )
        head = upload.read(_HEAD)
        upload.seek(0)
        if sniff_spreadsheet(head) is None:
            raise forms.ValidationError(
                "该文件不是有效的 .xlsx、.xls 或 .ods 文件（可能是改了扩展名的其他文件或已损坏）。"
                "只能导入 .xlsx、.xls 或 .ods 格式的台账，请用 Excel 或 WPS 打开后另存再上传。"
            )
        return upload

    def clean_round_name(self):
        name = " ".join(self.cleaned_data["round_name"].split())
        if not name:
            raise forms.ValidationError("请填写摸排轮次名称。")
        return name


NOT_IMPORTED = "不导入"


def column_choices() -> list[tuple[str, str]]:
    def label(column):
        if column.required and column.name not in OPTIONAL_HEADERS:
            return f"{column.name}（必填）"
        return column.name

    return [("", NOT_IMPORTED)] + [(column.key, label(column)) for column in COLUMNS]


class HeaderMappingForm(forms.Form):
    """The mapping step: one drop-down per file column (``HeaderColumnsMissing.columns``),
    "不导入" or one of the template's columns, preset to how the file was read."""

    def __init__(self, *args, columns: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        choices = column_choices()
        for column in columns:
            self.fields[f"col_{column['index']}"] = forms.ChoiceField(
                label=column["header"],
                choices=choices,
                required=False,
                initial=column["column"],
                error_messages={"invalid_choice": "请选择列表中的列。"},
            )

    def rows(self):
        """(file column, its bound field) for the page's table."""
        return [(column, self[f"col_{column['index']}"]) for column in self.columns]

    def chosen(self) -> dict[int, str]:
        return {
            column["index"]: self.cleaned_data.get(f"col_{column['index']}") or ""
            for column in self.columns
        }
